// The parts of the _ailake extension module.
#pragma once

#include <nanobind/nanobind.h>

namespace ailake::py {

void BindTables(nanobind::module_& m);
void BindFiles(nanobind::module_& m);
void BindIndexes(nanobind::module_& m);
void BindText(nanobind::module_& m);

}  // namespace ailake::py
