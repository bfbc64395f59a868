# srpmodexp for Make-based ports (unix): USER_C_MODULES=<repo>/firmware/cmodules
SRPMODEXP_MOD_DIR := $(USERMOD_DIR)
SRC_USERMOD_C += $(SRPMODEXP_MOD_DIR)/modsrpmodexp.c $(SRPMODEXP_MOD_DIR)/montgomery.c
CFLAGS_USERMOD += -I$(SRPMODEXP_MOD_DIR)
