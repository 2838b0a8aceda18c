// The parts of the _ailake extension module.
#pragma once

#include <nanobind/nanobind.h>

#include "ailake/text_search.h"

namespace ailake::py {

void BindTables(nanobind::module_& m);
void BindFiles(nanobind::module_& m);
void BindIndexes(nanobind::module_& m);
void BindText(nanobind::module_& m);

// An analyzer from Python keyword settings (tokenizer, stemmer, stop_words,
// lowercase, max_token_bytes, cjk_ngram); an unknown key raises.
TextAnalyzerConfig AnalyzerFromDict(const nanobind::dict& d);

}  // namespace ailake::py
