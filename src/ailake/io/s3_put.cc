#include "ailake/io/s3_put.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

namespace ailake::io {
namespace {

void EnsureCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string HexSha256(const arrow::Buffer& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), static_cast<size_t>(data.size()), md, &len, EVP_sha256(), nullptr);
  std::string out;
  out.reserve(2 * len);
  char hex[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof(hex), "%02x", md[i]);
    out += hex;
  }
  return out;
}

// Percent-encodes a key for the URL path (RFC 3986 unreserved kept, and '/').
std::string EncodeKey(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  char hex[4];
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      std::snprintf(hex, sizeof(hex), "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

// An S3 error document's <Code> and <Message>, or the body's start.
std::string ErrorText(const std::string& body) {
  auto tag = [&](const char* name) {
    const std::string open = std::string("<") + name + ">";
    const size_t a = body.find(open);
    if (a == std::string::npos) return std::string();
    const size_t b = body.find("</", a + open.size());
    return body.substr(a + open.size(), b == std::string::npos ? 0 : b - a - open.size());
  };
  std::string code = tag("Code");
  std::string msg = tag("Message");
  if (code.empty() && msg.empty()) return body.substr(0, 200);
  return code + (msg.empty() ? "" : ": " + msg);
}

size_t CollectBody(char* ptr, size_t size, size_t nmemb, void* user) {
  auto* body = static_cast<std::string*>(user);
  const size_t n = size * nmemb;
  if (body->size() < 64 * 1024) body->append(ptr, std::min(n, 64 * 1024 - body->size()));
  return n;
}

struct Outcome {
  CURLcode curl = CURLE_OK;
  long http = 0;
  std::string body;
  std::string curl_error;
};

// One signed request: PUT-if-absent of `data`, or DELETE when `data` is null.
Outcome RequestOnce(const S3Settings& s, const std::string& region, const S3Credentials& c,
                    const std::string& url, const arrow::Buffer* data, const std::string& sha) {
  Outcome out;
  CURL* h = curl_easy_init();
  if (h == nullptr) {
    out.curl = CURLE_FAILED_INIT;
    out.curl_error = "curl_easy_init failed";
    return out;
  }
  char err[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  if (data != nullptr) {
    headers = curl_slist_append(headers, "If-None-Match: *");
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  }
  headers = curl_slist_append(headers, ("x-amz-content-sha256: " + sha).c_str());
  headers = curl_slist_append(headers, "Expect:");
  if (!c.session_token.empty()) {
    headers = curl_slist_append(headers, ("x-amz-security-token: " + c.session_token).c_str());
  }
  const std::string sigv4 = "aws:amz:" + region + ":s3";
  const std::string userpwd = c.access_key + ":" + c.secret_key;
  // Bounded time: connecting, then the whole request (more for a big body).
  const long connect_ms = static_cast<long>(s.connect_timeout_s * 1000);
  const long total_ms = static_cast<long>(s.request_timeout_s * 1000) +
                        static_cast<long>(data != nullptr ? data->size() >> 10 : 0);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  if (data != nullptr) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, reinterpret_cast<const char*>(data->data()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(data->size()));
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(h, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
  out.curl = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.http);
  out.curl_error = err[0] ? err : curl_easy_strerror(out.curl);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  return out;
}

// Whether a failed attempt may still have written the object.
bool Ambiguous(const Outcome& o) {
  if (o.curl == CURLE_OK) return o.http >= 500;
  return o.curl != CURLE_COULDNT_CONNECT && o.curl != CURLE_COULDNT_RESOLVE_HOST &&
         o.curl != CURLE_COULDNT_RESOLVE_PROXY && o.curl != CURLE_SSL_CONNECT_ERROR;
}

bool Transient(const Outcome& o) {
  if (o.curl != CURLE_OK) return true;
  return o.http >= 500 || o.http == 409 || o.http == 429;
}

// curl ready, and credentials to sign with.
arrow::Status Prepare(const S3Settings& s, const S3Credentials& c) {
  EnsureCurl();
  if (c.access_key.empty()) {
    return arrow::Status::Invalid("'", s.uri, "': no AWS credentials found (set ",
                                  "aws_access_key_id / aws_secret_access_key, the AWS_* ",
                                  "environment variables or a profile)");
  }
  return arrow::Status::OK();
}

// Waits before retry `attempt` + 1: exponential from 100 ms, capped at 5 s,
// plus up to half again of jitter.
void Backoff(int attempt, std::mt19937* rng) {
  const int64_t base_ms = std::min<int64_t>(5000, int64_t{100} << std::min(attempt, 6));
  std::uniform_int_distribution<int64_t> jitter(0, base_ms / 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(base_ms + jitter(*rng)));
}

}  // namespace

std::string S3ObjectUrl(const S3Settings& s, const std::string& region, std::string_view key) {
  if (!s.endpoint.empty())
    return s.scheme + "://" + s.endpoint + "/" + s.bucket + "/" + EncodeKey(key);
  return "https://" + s.bucket + ".s3." + (region.empty() ? "us-east-1" : region) +
         ".amazonaws.com/" + EncodeKey(key);
}

arrow::Status S3PutIfAbsent(const S3Settings& s, const std::string& region, const S3Credentials& c,
                            std::string_view key, const arrow::Buffer& data,
                            const std::function<arrow::Result<bool>()>& same_as_ours,
                            int* attempts) {
  ARROW_RETURN_NOT_OK(Prepare(s, c));
  const std::string region_used = region.empty() ? std::string("us-east-1") : region;
  const std::string url = S3ObjectUrl(s, region_used, key);
  const std::string sha = HexSha256(data);
  bool maybe_written = false;
  std::mt19937 rng(std::random_device{}());
  Outcome o;
  for (int attempt = 0;; ++attempt) {
    if (attempts) *attempts = attempt + 1;
    o = RequestOnce(s, region_used, c, url, &data, sha);
    if (o.curl == CURLE_OK && o.http >= 200 && o.http < 300) return arrow::Status::OK();
    if (o.curl == CURLE_OK && o.http == 412) {
      if (maybe_written && same_as_ours) {
        ARROW_ASSIGN_OR_RAISE(bool ours, same_as_ours());
        if (ours) return arrow::Status::OK();
      }
      return arrow::Status::AlreadyExists("put-if-absent '", url, "': already exists");
    }
    if (!Transient(o) || attempt >= s.max_retries) break;
    maybe_written = maybe_written || Ambiguous(o);
    Backoff(attempt, &rng);
  }
  const std::string where = "put-if-absent '" + url + "'";
  if (o.curl != CURLE_OK) {
    return arrow::Status::IOError(where, ": ", o.curl_error, " (after ", s.max_retries + 1,
                                  " attempts; endpoint unreachable or too slow?)");
  }
  const std::string text = ErrorText(o.body);
  if (o.http == 403) {
    return arrow::Status::IOError(where, ": access denied (HTTP 403, ", text,
                                  "): check the credentials");
  }
  if (o.http == 404) {
    return arrow::Status::IOError(where, ": HTTP 404 (", text, "): does bucket '", s.bucket,
                                  "' exist?");
  }
  if (o.http == 501) {
    return arrow::Status::NotImplemented(where, ": the server does not support conditional ",
                                         "writes (If-None-Match), which commits need (", text, ")");
  }
  return arrow::Status::IOError(where, ": HTTP ", o.http, " (", text, ")");
}

arrow::Status S3Delete(const S3Settings& s, const std::string& region, const S3Credentials& c,
                       std::string_view key, int* attempts) {
  ARROW_RETURN_NOT_OK(Prepare(s, c));
  const std::string region_used = region.empty() ? std::string("us-east-1") : region;
  const std::string url = S3ObjectUrl(s, region_used, key);
  const arrow::Buffer empty(nullptr, 0);
  const std::string sha = HexSha256(empty);
  std::mt19937 rng(std::random_device{}());
  Outcome o;
  for (int attempt = 0;; ++attempt) {
    if (attempts) *attempts = attempt + 1;
    o = RequestOnce(s, region_used, c, url, nullptr, sha);
    // Deleting a missing key succeeds (S3 answers 204 either way).
    if (o.curl == CURLE_OK && o.http >= 200 && o.http < 300) return arrow::Status::OK();
    if (o.curl == CURLE_OK && o.http == 404 && ErrorText(o.body).rfind("NoSuchKey", 0) == 0) {
      return arrow::Status::OK();
    }
    if (!Transient(o) || attempt >= s.max_retries) break;
    Backoff(attempt, &rng);
  }
  const std::string where = "delete '" + url + "'";
  if (o.curl != CURLE_OK) {
    return arrow::Status::IOError(where, ": ", o.curl_error, " (after ", s.max_retries + 1,
                                  " attempts; endpoint unreachable or too slow?)");
  }
  return arrow::Status::IOError(where, ": HTTP ", o.http, " (", ErrorText(o.body), ")");
}

}  // namespace ailake::io
