// _ailake: the C++ core of the Python package (python/ailake/, its modules
// re-exported by __init__.py, is the public API). Arrow data crosses through
// the Arrow C stream/data interface; the GIL is released around I/O, index
// builds and searches.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "ailake/version.h"
#include "bindings.h"

NB_MODULE(_ailake, m) {
  m.doc() = "C++ core of the ailake package";
  m.attr("__version__") = std::string(ailake::Version());
  ailake::py::BindTables(m);
  ailake::py::BindFiles(m);
  ailake::py::BindIndexes(m);
  ailake::py::BindText(m);
}
