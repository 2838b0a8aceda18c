#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arrow/io/file.h>
#include <arrow/io/memory.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "ailake/io/object_store.h"

namespace ailake::io {
namespace {

namespace fs = std::filesystem;

arrow::Status ErrnoStatus(int err, std::string_view what, const std::string& path) {
  if (err == EEXIST) return arrow::Status::AlreadyExists(what, " '", path, "': already exists");
  if (err == ENOENT) return arrow::Status::IOError(what, " '", path, "': no such file");
  return arrow::Status::IOError(what, " '", path, "': ", std::strerror(err));
}

// A whole file mapped read-only: the buffer unmaps it when the last slice
// of it is gone.
class MappedBuffer : public arrow::Buffer {
 public:
  MappedBuffer(void* addr, int64_t size)
      : arrow::Buffer(static_cast<const uint8_t*>(addr), size), addr_(addr) {}
  ~MappedBuffer() override { ::munmap(addr_, static_cast<size_t>(size_)); }
  MappedBuffer(const MappedBuffer&) = delete;
  MappedBuffer& operator=(const MappedBuffer&) = delete;

 private:
  void* addr_;
};

std::string TempSuffix() {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;  // fresh per call: forked writers must not collide
  return ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++) + "." +
         std::to_string(rd());
}

arrow::Status WriteAllAndSync(const std::string& path, const arrow::Buffer& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "create", path);
  const uint8_t* p = data.data();
  int64_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, static_cast<size_t>(left));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return ErrnoStatus(err, "write", path);
    }
    p += n;
    left -= n;
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return ErrnoStatus(err, "fsync", path);
  }
  if (::close(fd) != 0) return ErrnoStatus(errno, "close", path);
  return arrow::Status::OK();
}

void SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// An output stream over a temporary file that is renamed into place on Close.
class AtomicFileOutputStream : public arrow::io::OutputStream {
 public:
  AtomicFileOutputStream(std::shared_ptr<arrow::io::FileOutputStream> tmp, std::string tmp_path,
                         std::string final_path)
      : tmp_(std::move(tmp)), tmp_path_(std::move(tmp_path)), final_path_(std::move(final_path)) {}
  ~AtomicFileOutputStream() override {
    if (!closed_) {
      (void)tmp_->Close();
      ::unlink(tmp_path_.c_str());
    }
  }
  arrow::Status Close() override {
    if (closed_) return arrow::Status::OK();
    closed_ = true;
    ARROW_RETURN_NOT_OK(tmp_->Flush());
    const int fd = tmp_->file_descriptor();
    if (fd >= 0 && ::fsync(fd) != 0) return ErrnoStatus(errno, "fsync", tmp_path_);
    ARROW_RETURN_NOT_OK(tmp_->Close());
    if (::rename(tmp_path_.c_str(), final_path_.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp_path_.c_str());
      return ErrnoStatus(err, "rename into", final_path_);
    }
    SyncDir(fs::path(final_path_).parent_path().string());
    return arrow::Status::OK();
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override { return tmp_->Tell(); }
  arrow::Status Write(const void* data, int64_t nbytes) override {
    return tmp_->Write(data, nbytes);
  }
  arrow::Status Write(const std::shared_ptr<arrow::Buffer>& data) override {
    return tmp_->Write(data);
  }
  arrow::Status Flush() override { return tmp_->Flush(); }

 private:
  std::shared_ptr<arrow::io::FileOutputStream> tmp_;
  std::string tmp_path_;
  std::string final_path_;
  bool closed_ = false;
};

class LocalObjectStore : public ObjectStore {
 public:
  explicit LocalObjectStore(std::string root) : root_(std::move(root)) {}

  const std::string& root() const override { return root_; }
  bool is_local() const override { return true; }
  IoStats stats() const override { return {}; }

  arrow::Status PutIfAbsent(std::string_view path, const arrow::Buffer& data) override {
    ARROW_ASSIGN_OR_RAISE(std::string full, Prepare(path));
    const std::string tmp = full + TempSuffix();
    ARROW_RETURN_NOT_OK(WriteAllAndSync(tmp, data));
    // link(2) fails with EEXIST when the name is taken: the atomic test-and-set.
    const int rc = ::link(tmp.c_str(), full.c_str());
    const int err = errno;
    ::unlink(tmp.c_str());
    if (rc != 0) return ErrnoStatus(err, "put-if-absent", full);
    SyncDir(fs::path(full).parent_path().string());
    return arrow::Status::OK();
  }

  arrow::Status Put(std::string_view path, const arrow::Buffer& data) override {
    ARROW_ASSIGN_OR_RAISE(std::string full, Prepare(path));
    const std::string tmp = full + TempSuffix();
    ARROW_RETURN_NOT_OK(WriteAllAndSync(tmp, data));
    if (::rename(tmp.c_str(), full.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return ErrnoStatus(err, "rename into", full);
    }
    SyncDir(fs::path(full).parent_path().string());
    return arrow::Status::OK();
  }

  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(std::string_view path,
                                                     int64_t /*size*/ = -1) override {
    ARROW_ASSIGN_OR_RAISE(auto file, OpenRead(path));
    ARROW_ASSIGN_OR_RAISE(int64_t size, file->GetSize());
    return file->ReadAt(0, size);
  }

  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenRead(
      std::string_view path, int64_t /*size*/ = -1) override {
    ARROW_RETURN_NOT_OK(CheckRelative(path));
    const std::string full = JoinPath(root_, path);
    return MapReadOnly(full);
  }

  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenWrite(
      std::string_view path) override {
    ARROW_ASSIGN_OR_RAISE(std::string full, Prepare(path));
    const std::string tmp = full + TempSuffix();
    ARROW_ASSIGN_OR_RAISE(auto out, arrow::io::FileOutputStream::Open(tmp));
    return std::make_shared<AtomicFileOutputStream>(std::move(out), tmp, full);
  }

  arrow::Result<std::vector<ObjectInfo>> List(std::string_view dir) override {
    return ListMatching(dir, /*temporaries=*/false);
  }
  arrow::Result<std::vector<ObjectInfo>> ListTemporaries(std::string_view dir) override {
    return ListMatching(dir, /*temporaries=*/true);
  }

  arrow::Result<std::vector<ObjectInfo>> ListMatching(std::string_view dir, bool temporaries) {
    std::vector<ObjectInfo> out;
    if (!dir.empty()) ARROW_RETURN_NOT_OK(CheckRelative(dir));
    const std::string full = dir.empty() ? root_ : JoinPath(root_, dir);
    std::error_code ec;
    if (!fs::exists(full, ec)) return out;
    for (fs::directory_iterator it(full, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      // Writes in flight (or left by a killed writer) are temporaries.
      if ((name.find(".tmp.") != std::string::npos) != temporaries) continue;
      if (!it->is_regular_file(ec)) continue;
      std::error_code sec;
      const auto size = it->file_size(sec);
      struct stat st {};
      const int64_t mtime =
          ::stat(it->path().c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : 0;
      out.push_back(
          {dir.empty() ? name : JoinPath(dir, name), sec ? 0 : static_cast<int64_t>(size), mtime});
    }
    if (ec) return arrow::Status::IOError("list '", full, "': ", ec.message());
    std::sort(out.begin(), out.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.path < b.path; });
    return out;
  }

  arrow::Result<bool> Exists(std::string_view path) override {
    ARROW_RETURN_NOT_OK(CheckRelative(path));
    struct stat st;
    return ::stat(JoinPath(root_, path).c_str(), &st) == 0;
  }

  arrow::Status Delete(std::string_view path) override {
    ARROW_RETURN_NOT_OK(CheckRelative(path));
    const std::string full = JoinPath(root_, path);
    if (::unlink(full.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "delete", full);
    return arrow::Status::OK();
  }

 private:
  arrow::Result<std::string> Prepare(std::string_view path) {
    ARROW_RETURN_NOT_OK(CheckRelative(path));
    std::string full = JoinPath(root_, path);
    std::error_code ec;
    fs::create_directories(fs::path(full).parent_path(), ec);
    if (ec) return arrow::Status::IOError("create directory for '", full, "': ", ec.message());
    return full;
  }

  std::string root_;
};

}  // namespace

// Rejects paths that would escape the root or are malformed.
arrow::Status CheckRelative(std::string_view path) {
  if (path.empty()) return arrow::Status::Invalid("empty object path");
  if (path.front() == '/') return arrow::Status::Invalid("object path '", path, "' is absolute");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part == ".." || part == ".") {
      return arrow::Status::Invalid("object path '", path, "' contains '", part, "'");
    }
    start = end + 1;
  }
  return arrow::Status::OK();
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  std::string out(a);
  if (out.back() != '/') out.push_back('/');
  out.append(b);
  return out;
}

arrow::Result<std::shared_ptr<ObjectStore>> OpenLocalObjectStore(std::string_view path) {
  if (path.empty()) return arrow::Status::Invalid("empty table location");
  // Nothing is created here: a reader of a missing table must not leave a
  // directory behind; writes create the folders they put objects in.
  std::string root(path);
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return std::make_shared<LocalObjectStore>(std::move(root));
}

arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> MapReadOnly(const std::string& full) {
  const int fd = ::open(full.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open", full);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(err, "open", full);
  }
  if (st.st_size == 0) {  // mmap of an empty file fails; an empty object is read from memory
    ::close(fd);
    return std::shared_ptr<arrow::io::RandomAccessFile>(
        std::make_shared<arrow::io::BufferReader>(std::make_shared<arrow::Buffer>(nullptr, 0)));
  }
  const auto size = static_cast<int64_t>(st.st_size);
  void* addr = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
  const int err = errno;
  ::close(fd);  // the mapping keeps the file
  if (addr == MAP_FAILED) return ErrnoStatus(err, "map", full);
  return std::make_shared<arrow::io::BufferReader>(std::make_shared<MappedBuffer>(addr, size));
}

}  // namespace ailake::io
