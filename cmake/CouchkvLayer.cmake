# One static library per layer (couchkv::protocol, ::topology, ::io, ::client) plus the combined
# couchkv::couchkv archive. Each layer is compiled once into an OBJECT library; the per-layer and
# the combined archives are both made from those objects.
include(GNUInstallDirs)

option(COUCHKV_WERROR "Treat warnings as errors" OFF)

function(couchkv_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                             $<$<BOOL:${COUCHKV_WERROR}>:-Werror>)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # GCC 12 reports Asio's awaitable frame allocator (operator new/delete pair of
      # awaitable_frame_base) as mismatched at -O2: a known false positive with coroutines.
      target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete)
    endif()
  endif()
endfunction()

# couchkv_add_layer(<name> SOURCES ... [INCLUDE_DIR dir] [PUBLIC_DEPS ...] [PRIVATE_DEPS ...]
#                   [PUBLIC_DEFINITIONS ...])
function(couchkv_add_layer name)
  cmake_parse_arguments(L "" "INCLUDE_DIR" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS;PUBLIC_DEFINITIONS" ${ARGN})
  if(NOT L_INCLUDE_DIR)
    set(L_INCLUDE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/include)
  endif()
  set(obj couchkv_${name}_objects)
  add_library(${obj} OBJECT ${L_SOURCES})
  target_include_directories(${obj} PUBLIC $<BUILD_INTERFACE:${L_INCLUDE_DIR}>)
  target_link_libraries(${obj} PUBLIC ${L_PUBLIC_DEPS} PRIVATE ${L_PRIVATE_DEPS})
  target_compile_definitions(${obj} PUBLIC ${L_PUBLIC_DEFINITIONS})
  couchkv_warnings(${obj})

  add_library(couchkv_${name} STATIC $<TARGET_OBJECTS:${obj}>)
  add_library(couchkv::${name} ALIAS couchkv_${name})
  target_include_directories(couchkv_${name} PUBLIC
    $<BUILD_INTERFACE:${L_INCLUDE_DIR}> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(couchkv_${name} PUBLIC ${L_PUBLIC_DEPS} PRIVATE ${L_PRIVATE_DEPS})
  target_compile_definitions(couchkv_${name} PUBLIC ${L_PUBLIC_DEFINITIONS})
  set_target_properties(couchkv_${name} PROPERTIES EXPORT_NAME ${name})

  set_property(GLOBAL APPEND PROPERTY COUCHKV_LAYER_OBJECTS $<TARGET_OBJECTS:${obj}>)
  set_property(GLOBAL APPEND PROPERTY COUCHKV_LAYER_INCLUDES ${L_INCLUDE_DIR})
  set_property(GLOBAL APPEND PROPERTY COUCHKV_LAYER_DEFINITIONS ${L_PUBLIC_DEFINITIONS})
  set_property(GLOBAL APPEND PROPERTY COUCHKV_LAYER_TARGETS couchkv_${name})
  install(DIRECTORY ${L_INCLUDE_DIR}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()

# The combined archive: every layer's objects in one libcouchkv.a.
function(couchkv_add_combined_library)
  get_property(objects GLOBAL PROPERTY COUCHKV_LAYER_OBJECTS)
  get_property(includes GLOBAL PROPERTY COUCHKV_LAYER_INCLUDES)
  get_property(definitions GLOBAL PROPERTY COUCHKV_LAYER_DEFINITIONS)
  add_library(couchkv STATIC ${objects})
  add_library(couchkv::couchkv ALIAS couchkv)
  foreach(dir IN LISTS includes)
    target_include_directories(couchkv PUBLIC $<BUILD_INTERFACE:${dir}>)
  endforeach()
  target_include_directories(couchkv PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_definitions(couchkv PUBLIC ${definitions})
  target_link_libraries(couchkv PUBLIC Boost::headers OpenSSL::SSL OpenSSL::Crypto
                                       nlohmann_json::nlohmann_json Threads::Threads)
  set_property(GLOBAL APPEND PROPERTY COUCHKV_LAYER_TARGETS couchkv)
endfunction()
