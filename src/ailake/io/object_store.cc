// OpenObjectStore: the URI scheme picks the store; the options are checked
// here, so that a misspelt or misplaced setting is an error, never ignored.
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <set>

#include "ailake/io/read_cache.h"
#include "ailake/io/stores.h"

namespace ailake::io {
namespace {

const std::set<std::string, std::less<>>& S3Keys() {
  static const std::set<std::string, std::less<>> keys = {
      "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
      "aws_region",        "aws_endpoint",          "allow_http",
      "connect_timeout",   "request_timeout",       "max_retries"};
  return keys;
}

std::string KnownKeys() {
  std::string out;
  for (const auto& k : S3Keys()) out += k + ", ";
  return out + "cache_bytes";
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// The option, else the first set environment variable of `env`.
std::string Setting(const StorageOptions& o, const char* key,
                    std::initializer_list<const char*> env) {
  auto it = o.find(key);
  if (it != o.end()) return it->second;
  for (const char* e : env) {
    std::string v = Env(e);
    if (!v.empty()) return v;
  }
  return {};
}

arrow::Result<bool> ParseBool(std::string_view key, const std::string& v) {
  if (v == "true" || v == "True" || v == "1" || v == "yes") return true;
  if (v.empty() || v == "false" || v == "False" || v == "0" || v == "no") return false;
  return arrow::Status::Invalid("storage option ", key, " = '", v, "' is not true or false");
}

arrow::Result<double> ParseSeconds(std::string_view key, const std::string& v, double dflt) {
  if (v.empty()) return dflt;
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size() || !(d > 0) || d > 3600) {
    return arrow::Status::Invalid("storage option ", key, " = '", v,
                                  "' is not a number of seconds in (0, 3600]");
  }
  return d;
}

arrow::Result<int64_t> ParseInt(std::string_view key, const std::string& v, int64_t lo,
                                int64_t hi) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi) {
    return arrow::Status::Invalid("storage option ", key, " = '", v, "' is not an integer in [", lo,
                                  ", ", hi, "]");
  }
  return n;
}

// Checks every key; applies cache_bytes (process-wide).
arrow::Status CheckOptions(std::string_view uri, const StorageOptions& options, bool s3) {
  for (const auto& [k, v] : options) {
    if (k == "cache_bytes") {
      ARROW_ASSIGN_OR_RAISE(int64_t bytes, ParseInt(k, v, 0, int64_t{1} << 50));
      SetReadCacheCapacity(bytes);
      continue;
    }
    if (S3Keys().count(k) == 0) {
      return arrow::Status::Invalid("unknown storage option '", k, "' (known: ", KnownKeys(), ")");
    }
    if (!s3) {
      return arrow::Status::Invalid("storage option '", k, "' applies to s3:// locations, not to '",
                                    uri, "'");
    }
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<S3Settings> ResolveS3Settings(std::string_view uri, const StorageOptions& o) {
  S3Settings s;
  s.uri = std::string(uri);
  std::string_view rest = uri.substr(5);  // after "s3://"
  const size_t slash = rest.find('/');
  s.bucket = std::string(rest.substr(0, slash));
  if (s.bucket.empty())
    return arrow::Status::Invalid("'", uri, "' names no bucket (s3://bucket/prefix)");
  for (char c : s.bucket) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.')) {
      return arrow::Status::Invalid("'", uri, "': bucket name '", s.bucket,
                                    "' may hold only lower-case letters, digits, '-' and '.'");
    }
  }
  if (slash != std::string_view::npos) {
    std::string_view p = rest.substr(slash + 1);
    while (!p.empty() && p.back() == '/') p.remove_suffix(1);
    s.prefix = std::string(p);
    if (!s.prefix.empty()) ARROW_RETURN_NOT_OK(CheckRelative(s.prefix));
  }
  s.access_key = Setting(o, "aws_access_key_id", {"AWS_ACCESS_KEY_ID"});
  s.secret_key = Setting(o, "aws_secret_access_key", {"AWS_SECRET_ACCESS_KEY"});
  s.session_token = Setting(o, "aws_session_token", {"AWS_SESSION_TOKEN"});
  if (s.access_key.empty() != s.secret_key.empty()) {
    return arrow::Status::Invalid("'", uri, "': aws_access_key_id and aws_secret_access_key ",
                                  "must be given together");
  }
  s.region = Setting(o, "aws_region", {"AWS_REGION", "AWS_DEFAULT_REGION"});
  std::string endpoint =
      Setting(o, "aws_endpoint", {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"});
  ARROW_ASSIGN_OR_RAISE(bool allow_http,
                        ParseBool("allow_http", Setting(o, "allow_http", {"AWS_ALLOW_HTTP"})));
  if (!endpoint.empty()) {
    const size_t sep = endpoint.find("://");
    if (sep == std::string::npos) {
      return arrow::Status::Invalid("storage option aws_endpoint = '", endpoint,
                                    "' needs a scheme (http:// or https://)");
    }
    s.scheme = endpoint.substr(0, sep);
    s.endpoint = endpoint.substr(sep + 3);
    while (!s.endpoint.empty() && s.endpoint.back() == '/') s.endpoint.pop_back();
    if (s.scheme != "http" && s.scheme != "https") {
      return arrow::Status::Invalid("storage option aws_endpoint = '", endpoint,
                                    "': scheme must be http or https");
    }
    if (s.endpoint.empty() || s.endpoint.find('/') != std::string::npos) {
      return arrow::Status::Invalid("storage option aws_endpoint = '", endpoint,
                                    "' must be scheme://host[:port]");
    }
    if (s.scheme == "http" && !allow_http) {
      return arrow::Status::Invalid(
          "endpoint '", endpoint,
          "' is plain http: set storage option allow_http=true to allow it");
    }
    if (s.region.empty()) s.region = "us-east-1";
  }
  ARROW_ASSIGN_OR_RAISE(s.connect_timeout_s,
                        ParseSeconds("connect_timeout", Setting(o, "connect_timeout", {}), 5));
  ARROW_ASSIGN_OR_RAISE(s.request_timeout_s,
                        ParseSeconds("request_timeout", Setting(o, "request_timeout", {}), 60));
  const std::string retries = Setting(o, "max_retries", {});
  if (!retries.empty()) {
    ARROW_ASSIGN_OR_RAISE(int64_t n, ParseInt("max_retries", retries, 0, 20));
    s.max_retries = static_cast<int>(n);
  }
  return s;
}

arrow::Result<std::shared_ptr<ObjectStore>> OpenObjectStore(std::string_view uri,
                                                            const StorageOptions& options) {
  if (uri.starts_with("s3://")) {
    ARROW_RETURN_NOT_OK(CheckOptions(uri, options, true));
    ARROW_ASSIGN_OR_RAISE(S3Settings s, ResolveS3Settings(uri, options));
    return OpenS3ObjectStore(s);
  }
  ARROW_RETURN_NOT_OK(CheckOptions(uri, options, false));
  std::string_view path = uri;
  if (path.starts_with("file://")) path.remove_prefix(7);
  const size_t scheme = path.find("://");
  if (scheme != std::string_view::npos) {
    return arrow::Status::NotImplemented("table location '", uri, "': scheme '",
                                         path.substr(0, scheme),
                                         "' is not supported (use a local path, file:// or s3://)");
  }
  return OpenLocalObjectStore(path);
}

}  // namespace ailake::io
