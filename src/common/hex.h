/* strait: one hexadecimal digit, for the decoders that meet them (percent
 * escapes, h'..' constants, Zeek's \xNN escapes, UUIDs, hashes). */
#ifndef STRAIT_COMMON_HEX_H
#define STRAIT_COMMON_HEX_H

/* By byte: 0 for not a hex digit, else its value + 1, with 0x40 added for
 * 'A' to 'F'. A table, not comparisons: random digits (UUIDs, hashes)
 * mispredicted the branches between the ranges about every other byte. */
#define HEX_L_(c, v) [c] = (v) + 1
#define HEX_U_(c, v) [c] = 0x40 | ((v) + 1)
static const unsigned char hex_table_[256] = {
    HEX_L_('0', 0),  HEX_L_('1', 1),  HEX_L_('2', 2),  HEX_L_('3', 3),
    HEX_L_('4', 4),  HEX_L_('5', 5),  HEX_L_('6', 6),  HEX_L_('7', 7),
    HEX_L_('8', 8),  HEX_L_('9', 9),  HEX_L_('a', 10), HEX_L_('b', 11),
    HEX_L_('c', 12), HEX_L_('d', 13), HEX_L_('e', 14), HEX_L_('f', 15),
    HEX_U_('A', 10), HEX_U_('B', 11), HEX_U_('C', 12), HEX_U_('D', 13),
    HEX_U_('E', 14), HEX_U_('F', 15),
};
#undef HEX_L_
#undef HEX_U_

/* The value of c as a hex digit (either case), or -1. */
static inline int hex_digit(unsigned char c)
{
	unsigned t = hex_table_[c];
	return t != 0 ? (int)(t & 0x3f) - 1 : -1;
}

/* The value of c as a lowercase hex digit, or -1 (uppercase too). */
static inline int hex_digit_lower(unsigned char c)
{
	unsigned t = hex_table_[c];
	return t != 0 && !(t & 0x40) ? (int)t - 1 : -1;
}

#endif
