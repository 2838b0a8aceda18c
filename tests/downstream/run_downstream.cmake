# Installs the built ailake into a fresh prefix, then configures, builds and
# runs a small project that only does find_package(ailake).
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${AILAKE_BUILD_DIR}" --prefix "${prefix}"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S "${AILAKE_SOURCE_DIR}/tests/downstream"
                -B "${WORK_DIR}/build" -G Ninja -DCMAKE_PREFIX_PATH=${prefix}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "downstream configure failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/build" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "downstream build failed: ${rc}")
endif()
foreach(exe downstream_shared downstream_static)
  execute_process(COMMAND "${WORK_DIR}/build/${exe}" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  message(STATUS "${exe}: ${out}")
  if(NOT rc EQUAL 0 OR NOT out MATCHES "ailake 0\\.1\\.0 policy ok")
    message(FATAL_ERROR "${exe} failed (${rc}): ${out}")
  endif()
endforeach()
