//go:build amd64 && !purego

#include "textflag.h"

// func newlineMasks(dst []uint64, src []byte) int
TEXT ·newlineMasks(SB), NOSPLIT, $0-56
	MOVQ    dst_base+0(FP), DI
	MOVQ    dst_len+8(FP), CX
	MOVQ    src_base+24(FP), SI
	MOVQ    src_len+32(FP), DX
	SHRQ    $6, DX                // DX = whole 64-byte blocks of src
	CMPQ    DX, CX
	CMOVQLT DX, CX                // CX = min(len(dst), blocks)
	MOVQ    CX, ret+48(FP)
	TESTQ   CX, CX
	JZ      done
	MOVQ    $0x0a, AX
	VMOVQ   AX, X0
	VPBROADCASTB X0, Y0

loop:
	VMOVDQU (SI), Y1
	VMOVDQU 32(SI), Y2
	VPCMPEQB Y0, Y1, Y1
	VPCMPEQB Y0, Y2, Y2
	VPMOVMSKB Y1, AX
	VPMOVMSKB Y2, BX
	SHLQ    $32, BX
	ORQ     BX, AX
	MOVQ    AX, (DI)
	ADDQ    $64, SI
	ADDQ    $8, DI
	DECQ    CX
	JNZ     loop
	VZEROUPPER

done:
	RET
