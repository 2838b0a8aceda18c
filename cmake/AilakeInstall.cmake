# Installs libailake (shared and static), the public headers, and a CMake
# package so that a downstream project can find_package(ailake) and link
# ailake::shared or ailake::static.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS ailake_shared ailake_static EXPORT ailakeTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/ailake DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(_cfgdir ${CMAKE_INSTALL_LIBDIR}/cmake/ailake)
install(EXPORT ailakeTargets NAMESPACE ailake:: DESTINATION ${_cfgdir})
configure_package_config_file(cmake/ailakeConfig.cmake.in
  "${PROJECT_BINARY_DIR}/ailakeConfig.cmake" INSTALL_DESTINATION ${_cfgdir})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/ailakeConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/ailakeConfig.cmake"
  "${PROJECT_BINARY_DIR}/ailakeConfigVersion.cmake"
  cmake/AilakeArrow.cmake cmake/AilakeStemmer.cmake DESTINATION ${_cfgdir})
