#include "textflag.h"

// func teddyAVX2(s []byte, n int, t *teddyTables) (at int, mask uint32)
// Returns the start at of the first vector of 32 positions (at < n) in
// which some position i fits, bit i-at of mask for each, or at = -1. A
// position i fits when its three bytes s[i], s[i+1], s[i+2] fit some
// bucket's fingerprints. Each byte is split into its low
// and high nibble, each nibble looks up the buckets it fits (VPSHUFB over
// a 16-entry table), and the three positions' bucket sets are ANDed, as
// Hyperscan's and ripgrep's Teddy do. Requires n >= 32 and n+1 < len(s).
// The last vector overlaps positions already tested, which have no bits,
// so mask has bits only for positions not yet tested.
TEXT ·teddyAVX2(SB), NOSPLIT, $0-52
	MOVQ    s_base+0(FP), SI
	MOVQ    n+24(FP), DX
	MOVQ    t+32(FP), R10
	VMOVDQU 0(R10), Y1
	VMOVDQU 32(R10), Y2
	VMOVDQU 64(R10), Y3
	VMOVDQU 96(R10), Y4
	VMOVDQU 128(R10), Y5
	VMOVDQU 160(R10), Y6
	VMOVDQU 192(R10), Y15         // 0x0f in every byte
	VPXOR   Y14, Y14, Y14
	LEAQ    -32(SI)(DX*1), DI     // DI = start of the last full vector
	MOVQ    SI, AX

tloop:
	CMPQ    AX, DI
	JBE     tbody
	LEAQ    (SI)(DX*1), R9
	CMPQ    AX, R9
	JAE     tnotfound
	MOVQ    DI, AX

tbody:
	VMOVDQU (AX), Y7
	VPSRLW  $4, Y7, Y8
	VPAND   Y15, Y7, Y7
	VPAND   Y15, Y8, Y8
	VPSHUFB Y7, Y1, Y9
	VPSHUFB Y8, Y2, Y10
	VPAND   Y9, Y10, Y0
	VMOVDQU 1(AX), Y7
	VPSRLW  $4, Y7, Y8
	VPAND   Y15, Y7, Y7
	VPAND   Y15, Y8, Y8
	VPSHUFB Y7, Y3, Y9
	VPSHUFB Y8, Y4, Y10
	VPAND   Y9, Y10, Y9
	VPAND   Y9, Y0, Y0
	VMOVDQU 2(AX), Y7
	VPSRLW  $4, Y7, Y8
	VPAND   Y15, Y7, Y7
	VPAND   Y15, Y8, Y8
	VPSHUFB Y7, Y5, Y9
	VPSHUFB Y8, Y6, Y10
	VPAND   Y9, Y10, Y9
	VPAND   Y9, Y0, Y0
	VPCMPEQB Y14, Y0, Y9          // 0xff where no bucket fits
	VPMOVMSKB Y9, BX
	NOTL    BX
	TESTL   BX, BX
	JNZ     tfound
	ADDQ    $32, AX
	JMP     tloop

tfound:
	SUBQ    SI, AX
	VZEROUPPER
	MOVQ    AX, at+40(FP)
	MOVL    BX, mask+48(FP)
	RET

tnotfound:
	VZEROUPPER
	MOVQ    $-1, at+40(FP)
	MOVL    $0, mask+48(FP)
	RET
