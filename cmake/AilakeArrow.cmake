# Locates Arrow C++, Parquet C++ and Arrow compute and defines the imported
# targets ailake_dep::arrow, ailake_dep::parquet, ailake_dep::arrow_compute,
# ailake_dep::arrow_acero, ailake_dep::arrow_dataset.
#
# 1. find_package(Arrow/Parquet) in CONFIG mode (a system or conda install).
# 2. Else the pyarrow wheel in AILAKE_PYTHON's environment: its headers and
#    shared libraries. The wheel ships only versioned sonames (libarrow.so.2100),
#    so unversioned links are created under the build tree for the linker.
# Included by the project and by the installed ailakeConfig.cmake.
include_guard(GLOBAL)

set(_ailake_arrow_libs arrow parquet arrow_compute arrow_acero arrow_dataset)

if(NOT AILAKE_ARROW_FROM_PYARROW)
  find_package(Arrow CONFIG QUIET)
  find_package(Parquet CONFIG QUIET)
endif()

if(Arrow_FOUND AND Parquet_FOUND AND NOT AILAKE_ARROW_FROM_PYARROW)
  find_package(ArrowCompute CONFIG QUIET)
  find_package(ArrowDataset CONFIG QUIET)
  message(STATUS "ailake: Arrow ${Arrow_VERSION} from find_package")
  add_library(ailake_dep::arrow INTERFACE IMPORTED)
  target_link_libraries(ailake_dep::arrow INTERFACE Arrow::arrow_shared)
  add_library(ailake_dep::parquet INTERFACE IMPORTED)
  target_link_libraries(ailake_dep::parquet INTERFACE Parquet::parquet_shared)
  foreach(_lib arrow_compute arrow_acero arrow_dataset)
    add_library(ailake_dep::${_lib} INTERFACE IMPORTED)
    if(TARGET ArrowCompute::${_lib}_shared)
      target_link_libraries(ailake_dep::${_lib} INTERFACE ArrowCompute::${_lib}_shared)
    elseif(TARGET ArrowDataset::${_lib}_shared)
      target_link_libraries(ailake_dep::${_lib} INTERFACE ArrowDataset::${_lib}_shared)
    else()
      target_link_libraries(ailake_dep::${_lib} INTERFACE Arrow::arrow_shared)
    endif()
  endforeach()
  return()
endif()

if(NOT AILAKE_PYARROW_INCLUDE_DIR OR NOT AILAKE_PYARROW_LIB_DIR)
  if(NOT AILAKE_PYTHON)
    set(AILAKE_PYTHON "${CMAKE_CURRENT_LIST_DIR}/../.venv/bin/python")
  endif()
  execute_process(
    COMMAND "${AILAKE_PYTHON}" -c
      "import pyarrow as pa; print(pa.get_include()); print(pa.get_library_dirs()[0]); print(pa.__version__)"
    OUTPUT_VARIABLE _pa_out RESULT_VARIABLE _pa_rc ERROR_VARIABLE _pa_err
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _pa_rc EQUAL 0)
    message(FATAL_ERROR
      "ailake: Arrow C++ not found by find_package, and '${AILAKE_PYTHON}' cannot import "
      "pyarrow (${_pa_err}). Run scripts/bootstrap.sh or set AILAKE_PYTHON.")
  endif()
  string(REPLACE "\n" ";" _pa_lines "${_pa_out}")
  list(GET _pa_lines 0 _inc)
  list(GET _pa_lines 1 _libdir)
  list(GET _pa_lines 2 _ver)
  set(AILAKE_PYARROW_INCLUDE_DIR "${_inc}" CACHE PATH "pyarrow's Arrow C++ headers")
  set(AILAKE_PYARROW_LIB_DIR "${_libdir}" CACHE PATH "pyarrow's Arrow C++ libraries")
  set(AILAKE_PYARROW_VERSION "${_ver}" CACHE STRING "pyarrow version providing Arrow C++")
endif()
message(STATUS "ailake: Arrow C++ from pyarrow ${AILAKE_PYARROW_VERSION} (${AILAKE_PYARROW_LIB_DIR})")

if(NOT AILAKE_PYARROW_LINK_DIR)
  set(AILAKE_PYARROW_LINK_DIR "${CMAKE_BINARY_DIR}/pyarrow-links")
endif()
file(MAKE_DIRECTORY "${AILAKE_PYARROW_LINK_DIR}")
foreach(_lib ${_ailake_arrow_libs})
  file(GLOB _cands "${AILAKE_PYARROW_LIB_DIR}/lib${_lib}.so.[0-9]*")
  list(FILTER _cands EXCLUDE REGEX "\\.so\\.[0-9]+\\.[0-9]")
  if(NOT _cands)
    message(FATAL_ERROR "ailake: lib${_lib}.so.* not found in ${AILAKE_PYARROW_LIB_DIR}")
  endif()
  list(GET _cands 0 _real)
  set(_link "${AILAKE_PYARROW_LINK_DIR}/lib${_lib}.so")
  file(CREATE_LINK "${_real}" "${_link}" SYMBOLIC)
  # The soname too, so an rpath to this folder resolves libparquet -> libarrow.
  get_filename_component(_soname "${_real}" NAME)
  file(CREATE_LINK "${_real}" "${AILAKE_PYARROW_LINK_DIR}/${_soname}" SYMBOLIC)
  add_library(ailake_dep::${_lib} SHARED IMPORTED)
  set_target_properties(ailake_dep::${_lib} PROPERTIES
    IMPORTED_LOCATION "${_link}"
    IMPORTED_SONAME "${_real}"
    INTERFACE_INCLUDE_DIRECTORIES "${AILAKE_PYARROW_INCLUDE_DIR}")
endforeach()
# libparquet.so.N names libarrow.so.N; let consumers find it at run time.
set(AILAKE_ARROW_RPATH "${AILAKE_PYARROW_LIB_DIR}")
