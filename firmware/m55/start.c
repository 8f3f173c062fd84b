/* Cortex-M55 start-up for the Arm MPS3 AN547 board (and qemu's mps3-an547): the vector table,
 * then the reset handler, which gives the FPU and MVE full access (CPACR CP10 / CP11) before
 * any floating-point instruction runs and hands over to newlib's crt0 (_start: .bss, the C
 * library, semihosting, main). */
#include <stdint.h>

extern void _start(void);
extern uint32_t __stack_top; /* an547.ld */
void emoti_fw_reset(void);

/* Initial stack pointer, reset; the faults stay 0: any fault locks the core up, and qemu stops
 * with a register dump. */
__attribute__((section(".vectors"), used)) const void *const emoti_fw_vectors[16] = {
    &__stack_top, (void *)emoti_fw_reset};

__attribute__((naked, noreturn)) void emoti_fw_reset(void) {
    __asm volatile("ldr r0, =0xE000ED88\n" /* CPACR */
                   "ldr r1, [r0]\n"
                   "orr r1, r1, #(0xF << 20)\n"
                   "str r1, [r0]\n"
                   "dsb\n"
                   "isb\n"
                   "b _start\n");
}
