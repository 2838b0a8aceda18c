# Runs an example program on a fresh directory: cmake -DEXE=... -DDIR=... -P run_example.cmake
file(REMOVE_RECURSE "${DIR}")
execute_process(COMMAND "${EXE}" "${DIR}" RESULT_VARIABLE rc)
file(REMOVE_RECURSE "${DIR}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} ${DIR} exited with ${rc}")
endif()
