foreach(target config connection_string)
  couchkv_add_fuzzer(${target} SOURCES fuzz_${target}.cpp LIBS couchkv_topology)
endforeach()
