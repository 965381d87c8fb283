# Installs the packages of tests/node/package-lock.json (better-sqlite3 and what it
# needs) into DEST_DIR/node_modules with `npm ci`, for tests/node_extension_test.js.
# tests/CMakeLists.txt runs it once per build directory, and again only when
# package.json, package-lock.json or this script change:
#
#   cmake -DNPM=/usr/bin/npm -DNODE_DIR=/usr -DSOURCE_DIR=<repo>/tests/node
#         -DDEST_DIR=<build>/tests/node -DSTAMP=<file written on success> -P install.cmake
#
# better-sqlite3 is compiled from source by node-gyp (its SQLite amalgamation too: most of
# the time): with npm_config_build_from_source it does not try to download a prebuilt
# binary, and with npm_config_nodedir node-gyp compiles against the headers of the Node.js
# that runs the test (NODE_DIR/include/node) instead of downloading them. Only the npm
# registry is reached. npm's output goes to DEST_DIR/npm-install.log, shown on failure.
foreach(variable NPM NODE_DIR SOURCE_DIR DEST_DIR STAMP)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "install.cmake: -D${variable}=... is required")
  endif()
endforeach()

file(REMOVE "${STAMP}")
file(MAKE_DIRECTORY "${DEST_DIR}")
file(COPY "${SOURCE_DIR}/package.json" "${SOURCE_DIR}/package-lock.json" DESTINATION "${DEST_DIR}")
set(log "${DEST_DIR}/npm-install.log")
string(TIMESTAMP started "%s")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E env
          "npm_config_nodedir=${NODE_DIR}"
          npm_config_build_from_source=better-sqlite3
          JOBS=max
          "${NPM}" ci --no-audit --no-fund --foreground-scripts
  WORKING_DIRECTORY "${DEST_DIR}"
  OUTPUT_FILE "${log}"
  ERROR_FILE "${log}"
  RESULT_VARIABLE result)
string(TIMESTAMP finished "%s")
math(EXPR seconds "${finished} - ${started}")

if(NOT result EQUAL 0)
  file(STRINGS "${log}" lines)
  list(LENGTH lines count)
  math(EXPR first "${count} - 40")
  if(first LESS 0)
    set(first 0)
  endif()
  list(SUBLIST lines ${first} 40 tail)
  list(JOIN tail "\n" tail)
  message(FATAL_ERROR "npm ci of ${SOURCE_DIR}/package-lock.json failed (${result}) after "
                      "${seconds} s; the end of ${log}:\n${tail}")
endif()
message(STATUS "better-sqlite3 installed in ${DEST_DIR}/node_modules (${seconds} s)")
file(WRITE "${STAMP}" "installed in ${seconds} s\n")
