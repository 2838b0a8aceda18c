# Locates libstemmer (Snowball stemmers, Debian libstemmer-dev; it ships no
# CMake or pkg-config file) and defines the imported target
# ailake_dep::stemmer. Included by the project and by the installed
# ailakeConfig.cmake.
include_guard(GLOBAL)

find_path(AILAKE_STEMMER_INCLUDE_DIR libstemmer.h)
find_library(AILAKE_STEMMER_LIBRARY stemmer)
if(NOT AILAKE_STEMMER_INCLUDE_DIR OR NOT AILAKE_STEMMER_LIBRARY)
  message(FATAL_ERROR
    "ailake: libstemmer not found (libstemmer.h: ${AILAKE_STEMMER_INCLUDE_DIR}, "
    "library: ${AILAKE_STEMMER_LIBRARY}). Install the Debian package libstemmer-dev "
    "(scripts/bootstrap.sh does), or set AILAKE_STEMMER_INCLUDE_DIR and AILAKE_STEMMER_LIBRARY.")
endif()
if(NOT TARGET ailake_dep::stemmer)
  add_library(ailake_dep::stemmer INTERFACE IMPORTED)
  target_include_directories(ailake_dep::stemmer INTERFACE "${AILAKE_STEMMER_INCLUDE_DIR}")
  target_link_libraries(ailake_dep::stemmer INTERFACE "${AILAKE_STEMMER_LIBRARY}")
endif()
