# quipu_library(NAME DEPS...): one static library per top-level folder, built
# from every .cpp in it except main.cpp. Headers are included by folder
# ("crypto/sha256.h"), so the repository root is the include directory.
function(quipu_library name)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  list(FILTER srcs EXCLUDE REGEX "/main\\.cpp$")
  if(srcs)
    add_library(quipu_${name} STATIC ${srcs})
    target_include_directories(quipu_${name} PUBLIC ${QUIPU_ROOT})
    target_link_libraries(quipu_${name} PUBLIC ${ARGN})
  else()  # a folder with headers only (so far)
    add_library(quipu_${name} INTERFACE)
    target_include_directories(quipu_${name} INTERFACE ${QUIPU_ROOT})
    target_link_libraries(quipu_${name} INTERFACE ${ARGN})
  endif()
endfunction()

# quipu_tests(FOLDER DEPS...): one GoogleTest executable per folder of tests/,
# every test case registered with ctest.
function(quipu_tests folder)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${folder}/*.cpp)
  if(NOT srcs)
    return()
  endif()
  add_executable(${folder}_tests ${srcs})
  target_link_libraries(${folder}_tests PRIVATE ${ARGN} GTest::gtest_main GTest::gmock)
  target_compile_definitions(${folder}_tests PRIVATE
    QUIPU_BINARY="$<TARGET_FILE:quipu>"
    QUIPU_SOURCE_DIR="${QUIPU_ROOT}"
    QUIPU_BUILD_DIR="${CMAKE_BINARY_DIR}")
  add_dependencies(${folder}_tests quipu)
  gtest_discover_tests(${folder}_tests
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS ${folder} TIMEOUT 300)
endfunction()
