// Umbrella header: the whole public C++ API of ailake.
#pragma once

#include "ailake/changes.h"         // Update, MergeInsert
#include "ailake/file.h"            // AilakeFileWriter, AilakeFileReader
#include "ailake/hardware.h"        // SIMD dispatch
#include "ailake/index.h"           // VectorIndex: flat, HNSW, IVF-PQ
#include "ailake/lance.h"           // Lance-format files
#include "ailake/policy.h"          // VectorStoragePolicy and its enums
#include "ailake/query.h"           // Scan, Search, SearchBatch, ParseFilter
#include "ailake/row_id.h"          // RowId
#include "ailake/search_options.h"  // SearchOptions, ScanOptions, SearchStats
#include "ailake/storage.h"         // StorageOptions (s3:// and local tables)
#include "ailake/table.h"           // Table, TableWriter
#include "ailake/vectors.h"         // VectorView, RowFilter
#include "ailake/version.h"
