// Input and output of the ailake command: reading Parquet / Arrow IPC / CSV /
// .npy into Arrow tables, normalising vector columns to
// FixedSizeList<float32, dim>, and printing tables for people (aligned rows)
// and scripts (JSON).
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include <arrow/result.h>
#include <arrow/table.h>
#include <nlohmann/json.hpp>

namespace ailake::cli {

// format: "parquet", "ipc", "csv", "npy" or "" (from the extension).
arrow::Result<std::shared_ptr<arrow::Table>> ReadInput(const std::string& path,
                                                       std::string format = "");

// Converts column `name` (list / large_list / fixed_size_list of float32 or
// float64) to FixedSizeList<float32, dim>; every row must have dim values.
arrow::Result<std::shared_ptr<arrow::Table>> NormaliseVectorColumn(
    const std::shared_ptr<arrow::Table>& table, const std::string& name, int32_t* dim);

// Rows as aligned text (long cells and vectors shortened).
void PrintTable(const arrow::Table& table, std::ostream& out, int64_t max_rows = 100);
// Rows as a JSON array of objects.
arrow::Result<nlohmann::json> TableToJson(const arrow::Table& table);

}  // namespace ailake::cli
