#include "textflag.h"

// The functions test 32 candidate positions per iteration: a candidate i
// needs s[i]|or1 == b1 and s[i+off]|or2 == b2, so the two loads are offset by
// off and their compare masks ANDed. Candidates past the last full vector
// are covered by one final vector ending at the last candidate, so no load
// goes past the slice; it overlaps positions already found to be no
// candidates, so their mask bits are zero and need no clearing.

// func indexPairAVX2(s []byte, b1, b2 byte, off int, or1, or2 byte) int
// Requires len(s)-off >= 32.
TEXT ·indexPairAVX2(SB), NOSPLIT, $0-56
	MOVQ    s_base+0(FP), SI
	MOVQ    s_len+8(FP), DX
	MOVQ    off+32(FP), R8
	SUBQ    R8, DX                // DX = n, the number of candidate positions
	MOVBLZX b1+24(FP), AX
	VMOVQ   AX, X1
	VPBROADCASTB X1, Y1
	MOVBLZX b2+25(FP), AX
	VMOVQ   AX, X2
	VPBROADCASTB X2, Y2
	MOVBLZX or1+40(FP), AX
	VMOVQ   AX, X3
	VPBROADCASTB X3, Y3
	MOVBLZX or2+41(FP), AX
	VMOVQ   AX, X4
	VPBROADCASTB X4, Y4
	LEAQ    -32(SI)(DX*1), DI     // DI = start of the last full vector
	LEAQ    -32(DI), R10          // R10 = last start for a 64-byte step
	MOVQ    SI, AX

loop64:
	CMPQ    AX, R10
	JA      loop
	VMOVDQU (AX), Y5
	VMOVDQU (AX)(R8*1), Y6
	VMOVDQU 32(AX), Y7
	VMOVDQU 32(AX)(R8*1), Y8
	VPOR    Y3, Y5, Y5
	VPOR    Y4, Y6, Y6
	VPOR    Y3, Y7, Y7
	VPOR    Y4, Y8, Y8
	VPCMPEQB Y1, Y5, Y5
	VPCMPEQB Y2, Y6, Y6
	VPCMPEQB Y1, Y7, Y7
	VPCMPEQB Y2, Y8, Y8
	VPAND   Y5, Y6, Y6
	VPAND   Y7, Y8, Y8
	VPOR    Y6, Y8, Y9
	VPTEST  Y9, Y9
	JNZ     hit64
	ADDQ    $64, AX
	JMP     loop64

hit64:
	VPMOVMSKB Y6, BX
	TESTL   BX, BX
	JNZ     found
	ADDQ    $32, AX
	VPMOVMSKB Y8, BX
	JMP     found

loop:
	CMPQ    AX, DI
	JBE     body
	LEAQ    (SI)(DX*1), R9        // end of the candidate positions
	CMPQ    AX, R9
	JAE     notfound
	MOVQ    DI, AX

body:
	VMOVDQU (AX), Y5
	VMOVDQU (AX)(R8*1), Y6
	VPOR    Y3, Y5, Y5
	VPOR    Y4, Y6, Y6
	VPCMPEQB Y1, Y5, Y5
	VPCMPEQB Y2, Y6, Y6
	VPAND   Y5, Y6, Y6
	VPMOVMSKB Y6, BX
	TESTL   BX, BX
	JNZ     found
	ADDQ    $32, AX
	JMP     loop

found:
	BSFL    BX, BX
	SUBQ    SI, AX
	ADDQ    BX, AX
	VZEROUPPER
	MOVQ    AX, ret+48(FP)
	RET

notfound:
	VZEROUPPER
	MOVQ    $-1, ret+48(FP)
	RET

// func indexPairSetAVX2(s []byte, n int, set *pairEntry, k int) int
// Requires 32 <= n and, for every entry, n-1+max(o1, o2) < len(s).
TEXT ·indexPairSetAVX2(SB), NOSPLIT, $0-56
	MOVQ    s_base+0(FP), SI
	MOVQ    n+24(FP), DX
	MOVQ    set+32(FP), R10
	MOVQ    k+40(FP), R11
	LEAQ    -32(SI)(DX*1), DI     // DI = start of the last full vector
	MOVQ    SI, AX

setloop:
	CMPQ    AX, DI
	JBE     setbody
	LEAQ    (SI)(DX*1), R9
	CMPQ    AX, R9
	JAE     setnotfound
	MOVQ    DI, AX

setbody:
	VPXOR   Y0, Y0, Y0
	MOVQ    R10, R12
	MOVQ    R11, R13

entry:
	MOVQ    128(R12), R8
	MOVQ    136(R12), R9
	VMOVDQU (AX)(R8*1), Y5
	VMOVDQU (AX)(R9*1), Y6
	VPOR    32(R12), Y5, Y5
	VPOR    96(R12), Y6, Y6
	VPCMPEQB (R12), Y5, Y5
	VPCMPEQB 64(R12), Y6, Y6
	VPAND   Y5, Y6, Y6
	VPOR    Y6, Y0, Y0
	ADDQ    $160, R12
	DECQ    R13
	JNZ     entry

	VPMOVMSKB Y0, BX
	TESTL   BX, BX
	JNZ     setfound
	ADDQ    $32, AX
	JMP     setloop

setfound:
	BSFL    BX, BX
	SUBQ    SI, AX
	ADDQ    BX, AX
	VZEROUPPER
	MOVQ    AX, ret+48(FP)
	RET

setnotfound:
	VZEROUPPER
	MOVQ    $-1, ret+48(FP)
	RET

// PAIR3 computes into dst the candidates of one entry whose offsets are in
// o1 and o2 and whose broadcast bytes and OR masks are in b1, or1, b2, or2.
#define PAIR3(o1, o2, b1, or1, b2, or2, dst) \
	VMOVDQU  (AX)(o1*1), Y12; \
	VMOVDQU  (AX)(o2*1), Y13; \
	VPOR     or1, Y12, Y12; \
	VPOR     or2, Y13, Y13; \
	VPCMPEQB b1, Y12, Y12; \
	VPCMPEQB b2, Y13, Y13; \
	VPAND    Y12, Y13, dst

// func indexPairSet3AVX2(s []byte, n int, set *[3]pairEntry) int
// indexPairSetAVX2 for exactly three entries, all held in registers.
TEXT ·indexPairSet3AVX2(SB), NOSPLIT, $0-48
	MOVQ    s_base+0(FP), SI
	MOVQ    n+24(FP), DX
	MOVQ    set+32(FP), BX
	VMOVDQU 0(BX), Y0
	VMOVDQU 32(BX), Y1
	VMOVDQU 64(BX), Y2
	VMOVDQU 96(BX), Y3
	MOVQ    128(BX), R8
	MOVQ    136(BX), R9
	VMOVDQU 160(BX), Y4
	VMOVDQU 192(BX), Y5
	VMOVDQU 224(BX), Y6
	VMOVDQU 256(BX), Y7
	MOVQ    288(BX), R10
	MOVQ    296(BX), R11
	VMOVDQU 320(BX), Y8
	VMOVDQU 352(BX), Y9
	VMOVDQU 384(BX), Y10
	VMOVDQU 416(BX), Y11
	MOVQ    448(BX), R12
	MOVQ    456(BX), R13
	LEAQ    -32(SI)(DX*1), DI     // DI = start of the last full vector
	MOVQ    SI, AX

set3loop:
	CMPQ    AX, DI
	JBE     set3body
	LEAQ    (SI)(DX*1), BX
	CMPQ    AX, BX
	JAE     set3notfound
	MOVQ    DI, AX

set3body:
	PAIR3(R8, R9, Y0, Y1, Y2, Y3, Y14)
	PAIR3(R10, R11, Y4, Y5, Y6, Y7, Y15)
	VPOR    Y15, Y14, Y14
	PAIR3(R12, R13, Y8, Y9, Y10, Y11, Y15)
	VPOR    Y15, Y14, Y14
	VPMOVMSKB Y14, BX
	TESTL   BX, BX
	JNZ     set3found
	ADDQ    $32, AX
	JMP     set3loop

set3found:
	BSFL    BX, BX
	SUBQ    SI, AX
	ADDQ    BX, AX
	VZEROUPPER
	MOVQ    AX, ret+40(FP)
	RET

set3notfound:
	VZEROUPPER
	MOVQ    $-1, ret+40(FP)
	RET

// PAIR3X is PAIR3 without the OR masks, for sets with no folded byte.
#define PAIR3X(o1, o2, b1, or1, b2, or2, dst) \
	VMOVDQU  (AX)(o1*1), Y12; \
	VMOVDQU  (AX)(o2*1), Y13; \
	VPCMPEQB b1, Y12, Y12; \
	VPCMPEQB b2, Y13, Y13; \
	VPAND    Y12, Y13, dst

// func indexPairSet3ExactAVX2(s []byte, n int, set *[3]pairEntry) int
// indexPairSet3AVX2 for entries whose OR masks are all zero.
TEXT ·indexPairSet3ExactAVX2(SB), NOSPLIT, $0-48
	MOVQ    s_base+0(FP), SI
	MOVQ    n+24(FP), DX
	MOVQ    set+32(FP), BX
	VMOVDQU 0(BX), Y0
	VMOVDQU 64(BX), Y2
	MOVQ    128(BX), R8
	MOVQ    136(BX), R9
	VMOVDQU 160(BX), Y4
	VMOVDQU 224(BX), Y6
	MOVQ    288(BX), R10
	MOVQ    296(BX), R11
	VMOVDQU 320(BX), Y8
	VMOVDQU 384(BX), Y10
	MOVQ    448(BX), R12
	MOVQ    456(BX), R13
	LEAQ    -32(SI)(DX*1), DI     // DI = start of the last full vector
	MOVQ    SI, AX

set3xloop:
	CMPQ    AX, DI
	JBE     set3xbody
	LEAQ    (SI)(DX*1), BX
	CMPQ    AX, BX
	JAE     set3xnotfound
	MOVQ    DI, AX

set3xbody:
	PAIR3X(R8, R9, Y0, Y1, Y2, Y3, Y14)
	PAIR3X(R10, R11, Y4, Y5, Y6, Y7, Y15)
	VPOR    Y15, Y14, Y14
	PAIR3X(R12, R13, Y8, Y9, Y10, Y11, Y15)
	VPOR    Y15, Y14, Y14
	VPMOVMSKB Y14, BX
	TESTL   BX, BX
	JNZ     set3xfound
	ADDQ    $32, AX
	JMP     set3xloop

set3xfound:
	BSFL    BX, BX
	SUBQ    SI, AX
	ADDQ    BX, AX
	VZEROUPPER
	MOVQ    AX, ret+40(FP)
	RET

set3xnotfound:
	VZEROUPPER
	MOVQ    $-1, ret+40(FP)
	RET
