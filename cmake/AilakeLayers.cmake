# One OBJECT library per layer of docs/ARCHITECTURE.md, built from
# src/ailake/<layer>/*.cc (tests, benchmarks and fuzz targets excluded), plus:
#  - ailake_layer_check_<layer>: a shared library of the layer and the layers
#    it names, linked with --no-undefined, so using a layer above fails the build;
#  - per-ISA kernel files: *_avx2.cc and *_avx512.cc get their -m flags, and
#    runtime dispatch picks them (never -march=native).
include_guard(GLOBAL)

set_property(GLOBAL PROPERTY AILAKE_LAYERS "")

function(ailake_add_layer name)
  cmake_parse_arguments(L "" "DIR" "DEPS;LIBS;SOURCES" ${ARGN})
  if(NOT L_DIR)
    set(L_DIR "${PROJECT_SOURCE_DIR}/src/ailake/${name}")
  endif()
  file(GLOB _srcs CONFIGURE_DEPENDS "${L_DIR}/*.cc")
  list(FILTER _srcs EXCLUDE REGEX "(_test|_bench|_fuzz|_main)\\.cc$")
  list(APPEND _srcs ${L_SOURCES})
  if(NOT _srcs)
    message(STATUS "ailake: layer '${name}' has no sources yet; not built")
    return()
  endif()
  # GCC 12's AVX-512 reduction intrinsics start from an undefined vector and
  # trip -Wuninitialized (a known false positive), hence the -Wno- flags.
  foreach(_s ${_srcs})
    if(_s MATCHES "_avx2\\.cc$")
      set_source_files_properties(${_s} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
    elseif(_s MATCHES "_avx512\\.cc$")
      set_source_files_properties(${_s} PROPERTIES
        COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512dq;-mavx512vl;-mavx2;-mfma;-mf16c;-Wno-uninitialized;-Wno-maybe-uninitialized")
    endif()
  endforeach()
  add_library(ailake_${name} OBJECT ${_srcs})
  target_include_directories(ailake_${name} PUBLIC
    "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>"
    "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>"
    "$<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/src>")
  set(_present "")
  foreach(_d ${L_DEPS})
    if(TARGET ailake_${_d})
      list(APPEND _present ${_d})
      target_link_libraries(ailake_${name} PUBLIC ailake_${_d})
    endif()
  endforeach()
  set(L_DEPS ${_present})
  target_link_libraries(ailake_${name} PUBLIC ${L_LIBS})

  # Layering proof: this layer plus the ones it names must link on their own.
  set(_objs "$<TARGET_OBJECTS:ailake_${name}>")
  foreach(_d ${L_DEPS})
    list(APPEND _objs "$<TARGET_OBJECTS:ailake_${_d}>")
  endforeach()
  add_library(ailake_layer_check_${name} SHARED ${_objs})
  target_link_libraries(ailake_layer_check_${name} PRIVATE ${L_LIBS})
  foreach(_d ${L_DEPS})
    get_target_property(_dlibs ailake_${_d} AILAKE_LIBS)
    target_link_libraries(ailake_layer_check_${name} PRIVATE ${_dlibs})
  endforeach()
  target_link_options(ailake_layer_check_${name} PRIVATE -Wl,--no-undefined)
  set_target_properties(ailake_${name} PROPERTIES AILAKE_LIBS "${L_LIBS}" AILAKE_DIR "${L_DIR}")
  set_property(GLOBAL APPEND PROPERTY AILAKE_LAYERS ${name})
endfunction()

# libailake.so and libailake.a from every layer's objects.
function(ailake_combine_layers)
  get_property(_layers GLOBAL PROPERTY AILAKE_LAYERS)
  set(_objs "")
  set(_libs "")
  foreach(_l ${_layers})
    list(APPEND _objs "$<TARGET_OBJECTS:ailake_${_l}>")
    get_target_property(_ll ailake_${_l} AILAKE_LIBS)
    list(APPEND _libs ${_ll})
  endforeach()
  list(REMOVE_DUPLICATES _libs)
  foreach(_kind SHARED STATIC)
    string(TOLOWER ${_kind} _k)
    add_library(ailake_${_k} ${_kind} ${_objs})
    set_target_properties(ailake_${_k} PROPERTIES OUTPUT_NAME ailake EXPORT_NAME ${_k})
    target_include_directories(ailake_${_k} PUBLIC
      "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>"
      "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>"
      "$<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/src>"
      "$<INSTALL_INTERFACE:include>")
    target_link_libraries(ailake_${_k} PUBLIC ${_libs})
    foreach(_l ${_layers})
      get_target_property(_deplibs ailake_${_l} INTERFACE_LINK_LIBRARIES)
      foreach(_x ${_deplibs})
        if(NOT _x MATCHES "^ailake_" AND NOT _x MATCHES "^\\$<")
          target_link_libraries(ailake_${_k} PUBLIC ${_x})
        endif()
      endforeach()
    endforeach()
  endforeach()
  target_link_options(ailake_shared PRIVATE -Wl,--no-undefined)
  set_target_properties(ailake_shared PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
  add_library(ailake::shared ALIAS ailake_shared)
  add_library(ailake::static ALIAS ailake_static)
endfunction()

# One GoogleTest executable per layer from its *_test.cc files.
function(ailake_add_layer_tests)
  include(GoogleTest)
  find_package(GTest REQUIRED)
  get_property(_layers GLOBAL PROPERTY AILAKE_LAYERS)
  foreach(_l ${_layers})
    get_target_property(_dir ailake_${_l} AILAKE_DIR)
    file(GLOB _tests CONFIGURE_DEPENDS "${_dir}/*_test.cc")
    if(NOT _tests)
      continue()
    endif()
    add_executable(ailake_${_l}_test ${_tests})
    target_link_libraries(ailake_${_l}_test PRIVATE ailake_static GTest::gtest GTest::gmock GTest::gtest_main)
    target_compile_definitions(ailake_${_l}_test PRIVATE
      AILAKE_SOURCE_DIR="${PROJECT_SOURCE_DIR}" AILAKE_BINARY_DIR="${PROJECT_BINARY_DIR}")
    gtest_discover_tests(ailake_${_l}_test DISCOVERY_MODE PRE_TEST TEST_PREFIX "${_l}." DISCOVERY_TIMEOUT 60)
  endforeach()
endfunction()
