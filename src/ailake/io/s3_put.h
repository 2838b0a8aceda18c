// The one S3 request Arrow's S3 filesystem cannot make: a PUT with
// "If-None-Match: *" (S3 conditional writes), signed with AWS Signature V4 by
// libcurl. Retries transient failures with exponential backoff; when a retry
// finds the object present after an attempt whose outcome was unknown (the
// connection dropped after the body was sent), `same_as_ours` decides whether
// that object is this call's own write.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <arrow/buffer.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "ailake/io/stores.h"

namespace ailake::io {

struct S3Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;
};

// PUTs `data` at `key` of the bucket only if no object has that key.
// AlreadyExists if one has. `attempts` (if not null) gets the number of
// requests sent.
arrow::Status S3PutIfAbsent(const S3Settings& settings, const std::string& region,
                            const S3Credentials& credentials, std::string_view key,
                            const arrow::Buffer& data,
                            const std::function<arrow::Result<bool>()>& same_as_ours,
                            int* attempts = nullptr);

// DELETEs `key` (a missing key is fine), signed the same way: one request,
// where Arrow's S3 filesystem checks the object first and then recreates the
// parent "directory" marker object.
arrow::Status S3Delete(const S3Settings& settings, const std::string& region,
                       const S3Credentials& credentials, std::string_view key,
                       int* attempts = nullptr);

// The request's URL: path-style on a custom endpoint, virtual-hosted on AWS.
std::string S3ObjectUrl(const S3Settings& settings, const std::string& region,
                        std::string_view key);

}  // namespace ailake::io
