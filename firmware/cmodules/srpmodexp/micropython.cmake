# srpmodexp for CMake-based ports (esp32, rp2): USER_C_MODULES=<repo>/firmware/cmodules/micropython.cmake
#
# Option SRPMODEXP_MBEDTLS_HW (default OFF): make Context(N) use
# mbedtls_mpi_exp_mod.  On ESP32 with CONFIG_MBEDTLS_HARDWARE_MPI (ESP-IDF's
# default) that runs on the RSA accelerator, many times faster than any
# software path; it is off by default because the software path is the one
# we know to be constant-time.  Build with e.g.
#   make USER_C_MODULES=.../micropython.cmake CMAKE_ARGS=-DSRPMODEXP_MBEDTLS_HW=ON
option(SRPMODEXP_MBEDTLS_HW "srpmodexp: Context(N) uses mbedtls_mpi_exp_mod (ESP32 RSA accelerator)" OFF)

add_library(usermod_srpmodexp INTERFACE)
target_sources(usermod_srpmodexp INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/modsrpmodexp.c
    ${CMAKE_CURRENT_LIST_DIR}/montgomery.c
)
target_include_directories(usermod_srpmodexp INTERFACE ${CMAKE_CURRENT_LIST_DIR})

# The esp32 port builds inside ESP-IDF, where mbedTLS is the idf::mbedtls
# component; its headers (and the hardware-MPI configuration) come from it.
if(IDF_TARGET OR ESP_PLATFORM)
    if(TARGET idf::mbedtls)
        target_link_libraries(usermod_srpmodexp INTERFACE idf::mbedtls)
    endif()
    if(SRPMODEXP_MBEDTLS_HW)
        target_compile_definitions(usermod_srpmodexp INTERFACE SRPMODEXP_DEFAULT_MBEDTLS=1)
    endif()
elseif(SRPMODEXP_MBEDTLS_HW)
    message(FATAL_ERROR "SRPMODEXP_MBEDTLS_HW is for the esp32 port (ESP-IDF's mbedTLS)")
endif()

target_link_libraries(usermod INTERFACE usermod_srpmodexp)
