// Where a table lives, and the counters of what reading and writing it cost.
//
// A table location is a local directory ("/data/t", "file:///data/t") or an
// S3 prefix ("s3://bucket/prefix"). S3 settings come from, in order: the
// StorageOptions given with the call, the standard AWS environment variables
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION /
// AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / AWS_ENDPOINT,
// AWS_ALLOW_HTTP), then the AWS profile files (AWS_PROFILE,
// ~/.aws/credentials and ~/.aws/config), as the AWS SDK resolves them.
//
// StorageOptions keys, spelled as LanceDB and pylance spell them:
//   aws_access_key_id, aws_secret_access_key, aws_session_token
//   aws_region          region of the bucket (default us-east-1 with a custom endpoint)
//   aws_endpoint        e.g. "http://127.0.0.1:9000" for an S3-compatible server
//   allow_http          "true" to allow an http:// endpoint (refused otherwise)
// and ailake's own:
//   connect_timeout     seconds to wait for a connection (default 5)
//   request_timeout     seconds a single request may take (default 60)
//   max_retries         retries of a failed request, with backoff (default 4)
//   cache_bytes         capacity of the process-wide read cache (default 256 MiB)
// An unknown key, or an S3 key given for a local path, is an error.
//
// Thread safety: the counters and the read cache are safe to use from any
// thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <arrow/result.h>
#include <arrow/status.h>

namespace ailake {

using StorageOptions = std::map<std::string, std::string>;

// Requests a store issued and the read cache's work, since the store was opened.
struct IoStats {
  int64_t requests = 0;      // every request to the object store (the sum below)
  int64_t get_requests = 0;  // ranged or whole-object reads
  int64_t head_requests = 0;
  int64_t put_requests = 0;  // single puts (including put-if-absent) and streamed writes
  int64_t list_requests = 0;
  int64_t delete_requests = 0;
  int64_t bytes_read = 0;  // from the store (cache misses only)
  int64_t bytes_written = 0;
  int64_t cache_hits = 0;    // cache blocks found
  int64_t cache_misses = 0;  // cache blocks fetched

  IoStats& operator-=(const IoStats& o);
};
IoStats operator-(IoStats a, const IoStats& b);

// The process-wide read cache of remote objects (footers, index sections and
// pages of immutable data files, in fixed-size blocks, least recently used
// first out). Local files are memory-mapped and do not use it.
int64_t ReadCacheCapacity();
void SetReadCacheCapacity(int64_t bytes);
int64_t ReadCacheUsedBytes();
void ClearReadCache();

}  // namespace ailake
