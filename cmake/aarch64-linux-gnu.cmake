# Cross toolchain for the aarch64 companion: Debian's gcc cross compiler with
# the arm64 libraries that `make deps` extracts into a sysroot in the cache.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(NOT HETMIG_CACHE)
  set(HETMIG_CACHE "${CMAKE_CURRENT_LIST_DIR}/../.cache")
endif()
set(HETMIG_SYSROOT "${HETMIG_CACHE}/sysroot-arm64")

# Headers and libraries come from the sysroot; the cross compiler's own
# libc stays in charge of startup files.
set(CMAKE_FIND_ROOT_PATH "${HETMIG_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
