add_library(usermod_srpmodexp INTERFACE)
target_sources(usermod_srpmodexp INTERFACE ${CMAKE_CURRENT_LIST_DIR}/modsrpmodexp.c)
target_include_directories(usermod_srpmodexp INTERFACE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(usermod INTERFACE usermod_srpmodexp)
