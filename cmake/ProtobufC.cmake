# sb_protobuf_c(<target> <proto files relative to proto/>...)
# Generates C with protoc-c at build time into ${CMAKE_BINARY_DIR}/proto and builds a static
# library <target> whose include dir is that folder ("tendermint/abci/types.pb-c.h").
find_program(PROTOC_C NAMES protoc-c protoc-gen-c REQUIRED)
function(sb_protobuf_c target)
  set(out_dir ${CMAKE_BINARY_DIR}/proto)
  set(srcs)
  foreach(p ${ARGN})
    get_filename_component(dir ${p} DIRECTORY)
    get_filename_component(name ${p} NAME_WE)
    set(c ${out_dir}/${dir}/${name}.pb-c.c)
    set(h ${out_dir}/${dir}/${name}.pb-c.h)
    add_custom_command(
      OUTPUT ${c} ${h}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
      COMMAND ${PROTOC_C} --proto_path=${PROJECT_SOURCE_DIR}/proto --c_out=${out_dir} ${p}
      DEPENDS ${PROJECT_SOURCE_DIR}/proto/${p}
      WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/proto
      COMMENT "protoc-c ${p}")
    list(APPEND srcs ${c})
  endforeach()
  add_library(${target} STATIC ${srcs})
  target_include_directories(${target} PUBLIC ${out_dir})
  target_link_libraries(${target} PUBLIC PkgConfig::PROTOBUF_C)
  # generated code is not ours to lint
  target_compile_options(${target} PRIVATE -Wno-error -w)
endfunction()
