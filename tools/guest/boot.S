/*
 * Multiboot v1 entry and interrupt stubs. QEMU's -kernel loader (and GRUB)
 * enters _start in 32-bit protected mode, paging off, interrupts off,
 * EAX = 0x2BADB002, EBX = Multiboot info; nothing else (GDT, stack) may be
 * trusted, so we load our own flat GDT and stack before any C runs.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000000   /* ELF: QEMU takes the load layout from it */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text
	.globl _start
_start:
	cli
	cld
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	movw $0x10, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	movw %cx, %ss
	movl $stack_top, %esp
	/* .bss is not in the file: clear it (EAX/EBX kept for kmain) */
	movl %eax, %esi
	movl %ebx, %edx
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb
	pushl %edx
	pushl %esi
	call kmain
2:	cli
	hlt
	jmp 2b

/* One stub per vector: the CPU pushes an error code only for 8, 10-14, 17,
 * 21, 29, 30; the others push a 0 so every frame has the same layout. */

	.altmacro
	.macro stub v
	.align 8
isr_\v:
	.if !(\v == 8 || (\v >= 10 && \v <= 14) || \v == 17 || \v == 21 || \v == 29 || \v == 30)
	pushl $0
	.endif
	pushl $\v
	jmp isr_common
	.endm

	.set vec, 0
	.rept 256
	stub %vec
	.set vec, vec + 1
	.endr

isr_common:
	pushal
	cld
	pushl %esp
	call irq_dispatch
	addl $4, %esp
	popal
	addl $8, %esp
	iret

	.macro stubaddr v
	.long isr_\v
	.endm

	.section .rodata
	.align 4
	.globl isr_table
isr_table:
	.set vec, 0
	.rept 256
	stubaddr %vec
	.set vec, vec + 1
	.endr

	.align 8
gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF   /* 0x08: code, flat 4 GiB, 32-bit */
	.quad 0x00CF92000000FFFF   /* 0x10: data, flat 4 GiB */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt

	.section .bss
	.align 16
	.skip 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
