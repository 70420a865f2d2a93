/* utf8.c -- strict UTF-8 validation (RFC 3629).
 *
 * API: utf8_valid(s, len) is true when the len bytes at s are well-formed
 * UTF-8 as RFC 3629 section 4 defines it.  NUL bytes are valid UTF-8 (U+0000);
 * callers that hand out C strings reject them themselves.
 *
 * Refused: stray continuation bytes, lead bytes C0, C1 and F5..FF, overlong
 * forms (E0 80..9F, F0 80..8F), UTF-16 surrogates (ED A0..BF), code points
 * above U+10FFFF (F4 90..BF) and sequences cut short by the end of input.
 *
 * The table in RFC 3629 section 4 is coded directly: the byte after the lead
 * has a range that depends on the lead, every later byte is 80..BF.  Pure, no
 * state, callable from anywhere.
 */
#include "autoconfig.h"

#include "utf8.h"

static bool utf8_cont(unsigned char c)
{
	return c >= 0x80 && c <= 0xbf;
}

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t need, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0; /* overlong below U+0800 */
			else if (c == 0xed)
				hi = 0x9f; /* surrogates D800..DFFF */
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90; /* overlong below U+10000 */
			else if (c == 0xf4)
				hi = 0x8f; /* above U+10FFFF */
		} else {
			return false; /* 80..C1 and F5..FF never lead */
		}
		if (need > len - i - 1)
			return false; /* truncated */
		if (p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (k = 2; k <= need; k++)
			if (!utf8_cont(p[i + k]))
				return false;
		i += need + 1;
	}
	return true;
}
