include(CMakePackageConfigHelpers)
get_property(couchkv_targets GLOBAL PROPERTY COUCHKV_LAYER_TARGETS)
# Everything of the library is in the install component couchkv_library (the tool has its own,
# couchkv_tools): `cmake --install <build> --component couchkv_library` installs the library alone.
install(TARGETS ${couchkv_targets} EXPORT couchkvTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT couchkv_library
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(couchkv_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/couchkv)
install(EXPORT couchkvTargets NAMESPACE couchkv:: DESTINATION ${couchkv_cmake_dir} COMPONENT couchkv_library)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/couchkvConfig.cmake.in
  ${PROJECT_BINARY_DIR}/couchkvConfig.cmake INSTALL_DESTINATION ${couchkv_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/couchkvConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/couchkvConfig.cmake ${PROJECT_BINARY_DIR}/couchkvConfigVersion.cmake
        DESTINATION ${couchkv_cmake_dir} COMPONENT couchkv_library)
