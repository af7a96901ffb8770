# One static library per layer (couchkv::protocol, ::topology, ::views, ::io, ::client) plus the combined
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
      # GCC 12 at -O3 reports std::string's inlined operator+ / assign of short literals as an
      # overlapping memcpy of ~2^63 bytes: known false positives (GCC bugs 105329 and 105651),
      # seen here in a config's "$HOST" expansion and in tests. Debian 12's compiler is GCC 12.
      if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
        target_compile_options(${target} PRIVATE -Wno-restrict)
      endif()
    endif()
  endif()
endfunction()

# Asio and Beast are compiled once, in io/src/asio_impl.cpp (separate compilation). The defines
# that select it are private to couchkv's own targets: a program that links couchkv is not forced
# into a define. Every target of this project that includes Asio calls couchkv_compiled_asio, so
# that Asio's code is compiled once for all of them -- and must: a translation unit that compiles
# Asio or Beast header-only gets its own copies of their function-local singletons (the error
# categories), and `ec == boost::beast::http::error::...` then compares categories of two copies.
# A program that uses Asio or Beast itself and compares their error codes with couchkv's can opt in
# to the same compiled implementation: target_link_libraries(app PRIVATE couchkv::compiled_asio).
set(COUCHKV_ASIO_DEFINITIONS BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION
                             BOOST_ASIO_NO_DEPRECATED)
function(couchkv_compiled_asio target)
  target_compile_definitions(${target} PRIVATE ${COUCHKV_ASIO_DEFINITIONS})
endfunction()

# couchkv::compiled_asio: the opt-in for users (see above).
function(couchkv_add_compiled_asio_target)
  add_library(couchkv_compiled_asio INTERFACE)
  add_library(couchkv::compiled_asio ALIAS couchkv_compiled_asio)
  target_compile_definitions(couchkv_compiled_asio INTERFACE ${COUCHKV_ASIO_DEFINITIONS})
  target_link_libraries(couchkv_compiled_asio INTERFACE couchkv)
  set_target_properties(couchkv_compiled_asio PROPERTIES EXPORT_NAME compiled_asio)
  set_property(GLOBAL APPEND PROPERTY COUCHKV_LAYER_TARGETS couchkv_compiled_asio)
endfunction()

# couchkv_add_layer(<name> SOURCES ... [INCLUDE_DIR dir] [PUBLIC_DEPS ...] [PRIVATE_DEPS ...]
#                   [COMPILED_ASIO])
function(couchkv_add_layer name)
  cmake_parse_arguments(L "COMPILED_ASIO" "INCLUDE_DIR" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  if(NOT L_INCLUDE_DIR)
    set(L_INCLUDE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/include)
  endif()
  set(obj couchkv_${name}_objects)
  add_library(${obj} OBJECT ${L_SOURCES})
  target_include_directories(${obj} PUBLIC $<BUILD_INTERFACE:${L_INCLUDE_DIR}>)
  target_link_libraries(${obj} PUBLIC ${L_PUBLIC_DEPS} PRIVATE ${L_PRIVATE_DEPS})
  if(L_COMPILED_ASIO)
    couchkv_compiled_asio(${obj})
  endif()
  couchkv_warnings(${obj})

  add_library(couchkv_${name} STATIC $<TARGET_OBJECTS:${obj}>)
  add_library(couchkv::${name} ALIAS couchkv_${name})
  target_include_directories(couchkv_${name} PUBLIC
    $<BUILD_INTERFACE:${L_INCLUDE_DIR}> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(couchkv_${name} PUBLIC ${L_PUBLIC_DEPS} PRIVATE ${L_PRIVATE_DEPS})
  set_target_properties(couchkv_${name} PROPERTIES EXPORT_NAME ${name})

  set_property(GLOBAL APPEND PROPERTY COUCHKV_LAYER_OBJECTS $<TARGET_OBJECTS:${obj}>)
  set_property(GLOBAL APPEND PROPERTY COUCHKV_LAYER_INCLUDES ${L_INCLUDE_DIR})
  set_property(GLOBAL APPEND PROPERTY COUCHKV_LAYER_TARGETS couchkv_${name})
  install(DIRECTORY ${L_INCLUDE_DIR}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT couchkv_library)
endfunction()

# The combined archive: every layer's objects in one libcouchkv.a.
function(couchkv_add_combined_library)
  get_property(objects GLOBAL PROPERTY COUCHKV_LAYER_OBJECTS)
  get_property(includes GLOBAL PROPERTY COUCHKV_LAYER_INCLUDES)
  add_library(couchkv STATIC ${objects})
  add_library(couchkv::couchkv ALIAS couchkv)
  foreach(dir IN LISTS includes)
    target_include_directories(couchkv PUBLIC $<BUILD_INTERFACE:${dir}>)
  endforeach()
  target_include_directories(couchkv PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(couchkv PUBLIC Boost::headers OpenSSL::SSL OpenSSL::Crypto
                                       nlohmann_json::nlohmann_json Threads::Threads)
  set_property(GLOBAL APPEND PROPERTY COUCHKV_LAYER_TARGETS couchkv)
endfunction()
