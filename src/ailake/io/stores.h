// The object stores behind OpenObjectStore, and the settings it resolves for
// them from the URI, the StorageOptions and the environment.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ailake/io/object_store.h"

namespace ailake::io {

struct S3Settings {
  std::string uri;  // as given, for messages
  std::string bucket;
  std::string prefix;  // key prefix of the table, no leading or trailing '/'
  // Explicit credentials; empty access_key = the AWS SDK's default chain
  // (environment, profile files, instance metadata).
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  std::string region;    // empty = the SDK's choice
  std::string endpoint;  // host[:port] of an S3-compatible server, empty = AWS
  std::string scheme = "https";
  double connect_timeout_s = 5;
  double request_timeout_s = 60;
  int max_retries = 4;
};

// Parses "s3://bucket/prefix" and the options (see include/ailake/storage.h).
arrow::Result<S3Settings> ResolveS3Settings(std::string_view uri, const StorageOptions& options);

arrow::Result<std::shared_ptr<ObjectStore>> OpenLocalObjectStore(std::string_view path);
arrow::Result<std::shared_ptr<ObjectStore>> OpenS3ObjectStore(const S3Settings& settings);

}  // namespace ailake::io
