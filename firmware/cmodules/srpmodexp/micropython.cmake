# srpmodexp for CMake-based ports (esp32, rp2):
#   USER_C_MODULES=<repo>/firmware/cmodules/micropython.cmake
#
# Option SRPMODEXP_MBEDTLS_HW (default OFF; also set by the environment
# variable SRPMODEXP_MBEDTLS_HW=1): Context(N) uses mbedtls_mpi_exp_mod
# instead of our constant-time Montgomery code.  On the esp32 port, with
# ESP-IDF's CONFIG_MBEDTLS_HARDWARE_MPI (its default), that call runs on the
# chip's RSA accelerator.  Off by default because the software path is the
# one whose timing we have checked (see README "SRP and modular
# exponentiation").  From ports/esp32:
#   idf.py -D MICROPY_BOARD=ESP32_GENERIC \
#          -D USER_C_MODULES=<repo>/firmware/cmodules/micropython.cmake \
#          -D SRPMODEXP_MBEDTLS_HW=ON build
set(_srpmodexp_hw_default OFF)
if("$ENV{SRPMODEXP_MBEDTLS_HW}" STREQUAL "1")
    set(_srpmodexp_hw_default ON)
endif()
option(SRPMODEXP_MBEDTLS_HW "srpmodexp: Context(N) uses mbedtls_mpi_exp_mod (ESP32 RSA accelerator)"
    ${_srpmodexp_hw_default})

add_library(usermod_srpmodexp INTERFACE)
target_sources(usermod_srpmodexp INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/modsrpmodexp.c
    ${CMAKE_CURRENT_LIST_DIR}/montgomery.c
)
target_include_directories(usermod_srpmodexp INTERFACE ${CMAKE_CURRENT_LIST_DIR})

# The esp32 port compiles user modules inside its main ESP-IDF component,
# which already requires the mbedtls component: its headers and its
# hardware-MPI configuration apply to modsrpmodexp.c without more set-up.
if(SRPMODEXP_MBEDTLS_HW)
    if(NOT (IDF_TARGET OR ESP_PLATFORM))
        message(FATAL_ERROR "SRPMODEXP_MBEDTLS_HW is meant for the esp32 port (ESP-IDF's mbedTLS)")
    endif()
    target_compile_definitions(usermod_srpmodexp INTERFACE SRPMODEXP_DEFAULT_MBEDTLS=1)
endif()

target_link_libraries(usermod INTERFACE usermod_srpmodexp)
