#include "ailake/file/section_splice.h"

#include <cstring>

#include "ailake/file.h"
#include "ailake/file/ailk_section.h"
#include "ailake/file/thrift_compact.h"

namespace ailake::file_internal {

arrow::Status FooterHoldingStream::Write(const void* data, int64_t nbytes) {
  if (holding_) {
    held_.append(static_cast<const char*>(data), static_cast<size_t>(nbytes));
    return arrow::Status::OK();
  }
  ARROW_RETURN_NOT_OK(sink_->Write(data, nbytes));
  forwarded_ += nbytes;
  return arrow::Status::OK();
}

std::string SectionKey(const SectionToWrite& section) {
  if (section.text) return TextSectionKey(section.column);
  return section.primary ? std::string(kFooterOffsetKey) : ColumnFooterOffsetKey(section.column);
}

bool IsSectionKey(std::string_view key) {
  if (key == kFooterOffsetKey) return true;
  if (!key.starts_with("ailake.")) return false;
  for (std::string_view suffix :
       {std::string_view(".footer_offset"), std::string_view(".text_offset")}) {
    if (key.ends_with(suffix) && key.size() > 7 + suffix.size()) return true;
  }
  return false;
}

arrow::Result<std::pair<int64_t, std::span<const uint8_t>>> SplitFooter(
    std::span<const uint8_t> tail, int64_t tail_offset) {
  if (tail.size() < 8 || std::memcmp(tail.data() + tail.size() - 4, "PAR1", 4) != 0) {
    return arrow::Status::Invalid("Parquet writer output does not end with PAR1");
  }
  uint32_t flen;
  std::memcpy(&flen, tail.data() + tail.size() - 8, 4);
  if (flen > tail.size() - 8) {
    return arrow::Status::Invalid("Parquet footer of ", flen, " bytes does not fit the ",
                                  tail.size() - 8, " bytes before its length");
  }
  const size_t start = tail.size() - 8 - flen;
  return std::make_pair(tail_offset + static_cast<int64_t>(start), tail.subspan(start, flen));
}

arrow::Status WriteSectionsAndFooter(
    arrow::io::OutputStream* sink, int64_t pos, std::span<const uint8_t> footer,
    const std::vector<SectionToWrite>& sections,
    const std::vector<std::pair<std::string, std::string>>& replace) {
  ARROW_ASSIGN_OR_RAISE(KeyValues kvs, ReadFooterKeyValues(footer));
  for (const auto& kv_new : replace) {
    std::erase_if(kvs, [&](const auto& kv) { return kv.first == kv_new.first; });
    kvs.push_back(kv_new);
  }
  // Drop stale section keys (a file indexed again gets fresh ones).
  std::erase_if(kvs, [](const auto& kv) { return IsSectionKey(kv.first); });
  static const char kZeros[kAilkAlignment] = {};
  for (const auto& s : sections) {
    const int64_t pad =
        static_cast<int64_t>((kAilkAlignment - pos % kAilkAlignment) % kAilkAlignment);
    ARROW_RETURN_NOT_OK(sink->Write(kZeros, pad));
    pos += pad;
    kvs.emplace_back(SectionKey(s), std::to_string(pos));
    ARROW_RETURN_NOT_OK(sink->Write(s.bytes.data(), static_cast<int64_t>(s.bytes.size())));
    pos += static_cast<int64_t>(s.bytes.size());
  }
  ARROW_ASSIGN_OR_RAISE(std::string new_footer, RewriteFooterKeyValues(footer, kvs));
  ARROW_RETURN_NOT_OK(sink->Write(new_footer.data(), static_cast<int64_t>(new_footer.size())));
  const uint32_t len = static_cast<uint32_t>(new_footer.size());
  ARROW_RETURN_NOT_OK(sink->Write(&len, 4));
  return sink->Write("PAR1", 4);
}

}  // namespace ailake::file_internal
