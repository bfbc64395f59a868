#include "py/runtime.h"
static mp_obj_t hello(void) { return mp_obj_new_int(42); }
static MP_DEFINE_CONST_FUN_OBJ_0(hello_obj, hello);
static const mp_rom_map_elem_t g[] = {{MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_srpmodexp)},{MP_ROM_QSTR(MP_QSTR_hello), MP_ROM_PTR(&hello_obj)}};
static MP_DEFINE_CONST_DICT(gd, g);
const mp_obj_module_t srpmodexp_module = {.base={&mp_type_module}, .globals=(mp_obj_dict_t*)&gd};
MP_REGISTER_MODULE(MP_QSTR_srpmodexp, srpmodexp_module);
