// Tags: names for versions (docs/FORMAT.md 4.7). A tag is the object
// _tags/<name> holding the version in decimal; it is created with
// PutIfAbsent (two creators of one name: one wins), and Cleanup keeps the
// versions tags name.
#include <algorithm>
#include <charconv>
#include <string>

#include "ailake/table.h"
#include "ailake/table/table_context.h"

namespace ailake {
namespace {

constexpr std::string_view kTagsDir = "_tags";
constexpr size_t kMaxTagName = 256;

arrow::Status CheckTagName(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= kMaxTagName && name[0] != '.' && name[0] != '-' &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
                  });
  if (!ok) {
    return arrow::Status::Invalid("tag name '", name.substr(0, 64),
                                  "': use up to 256 letters, digits, '_', '-' and '.', not "
                                  "starting with '.' or '-'");
  }
  return arrow::Status::OK();
}

std::string TagPath(const std::string& name) { return std::string(kTagsDir) + "/" + name; }

arrow::Result<uint64_t> ParseTag(const std::string& name, const arrow::Buffer& bytes) {
  const auto* p = reinterpret_cast<const char*>(bytes.data());
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(p, p + bytes.size(), v);
  if (ec != std::errc() || end != p + bytes.size() || bytes.size() > 20) {
    return arrow::Status::IOError("tag '", name, "' is corrupt: not a version number");
  }
  return v;
}

}  // namespace

arrow::Result<std::vector<TableTag>> Table::Tags() const {
  ARROW_ASSIGN_OR_RAISE(auto objects, ctx_->store->List(kTagsDir));
  std::vector<TableTag> out;
  for (const auto& o : objects) {
    const std::string name = o.path.substr(kTagsDir.size() + 1);
    if (!CheckTagName(name).ok()) continue;  // not ours
    ARROW_ASSIGN_OR_RAISE(auto bytes, ctx_->store->Read(o.path));
    ARROW_ASSIGN_OR_RAISE(uint64_t v, ParseTag(name, *bytes));
    out.push_back({name, v});
  }
  std::sort(out.begin(), out.end(),
            [](const TableTag& a, const TableTag& b) { return a.name < b.name; });
  return out;
}

arrow::Status Table::CreateTag(const std::string& name, uint64_t version) const {
  ARROW_RETURN_NOT_OK(CheckTagName(name));
  ARROW_RETURN_NOT_OK(ctx_->manifests.CheckWritable());
  if (!ctx_->manifests.Read(version).ok()) {
    return arrow::Status::KeyError("table '", uri(), "' has no version ", version,
                                   " to tag (removed by cleanup, or never committed)");
  }
  const std::string text = std::to_string(version);
  auto st = ctx_->store->PutIfAbsent(TagPath(name), arrow::Buffer(text));
  if (st.IsAlreadyExists()) {
    return arrow::Status::AlreadyExists("tag '", name, "' already exists on table '", uri(),
                                        "' (delete it first to move it)");
  }
  return st;
}

arrow::Status Table::DeleteTag(const std::string& name) const {
  ARROW_RETURN_NOT_OK(CheckTagName(name));
  ARROW_RETURN_NOT_OK(ctx_->manifests.CheckWritable());
  ARROW_ASSIGN_OR_RAISE(bool there, ctx_->store->Exists(TagPath(name)));
  if (!there) return arrow::Status::KeyError("table '", uri(), "' has no tag '", name, "'");
  return ctx_->store->Delete(TagPath(name));
}

arrow::Result<std::shared_ptr<Table>> Table::CheckoutTag(const std::string& name) const {
  ARROW_RETURN_NOT_OK(CheckTagName(name));
  auto bytes = ctx_->store->Read(TagPath(name));
  if (!bytes.ok()) {
    ARROW_ASSIGN_OR_RAISE(bool there, ctx_->store->Exists(TagPath(name)));
    if (!there) return arrow::Status::KeyError("table '", uri(), "' has no tag '", name, "'");
    return bytes.status();
  }
  ARROW_ASSIGN_OR_RAISE(uint64_t v, ParseTag(name, **bytes));
  return Checkout(v);
}

}  // namespace ailake
