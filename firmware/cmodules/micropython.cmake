# ESP32 (CMake) builds: USER_C_MODULES points at this file.
include(${CMAKE_CURRENT_LIST_DIR}/srpmodexp/micropython.cmake)
