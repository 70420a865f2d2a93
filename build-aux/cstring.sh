# cstring.sh -- sourced by sql2c.sh and text2c.sh (". build-aux/cstring.sh"):
# the one place a file is turned into C string literals.  POSIX sh + sed.
#
# cstring_emit FILE prints FILE as a sequence of C string literals, one per
# line of FILE, each tab-indented: a line becomes "...\n"; backslashes,
# double quotes and question marks (no trigraphs) are escaped, and a
# carriage return at the end of a line is dropped.  A last line without a
# newline gets no "\n", so the literals hold exactly the file's bytes (less
# those carriage returns).  An empty file is "".  Expects LC_ALL=C.
cstring_emit() {
	if [ ! -s "$1" ]; then
		printf '\t""\n'
		return
	fi
	_cs_tab=$(printf '\t')
	_cs_cr=$(printf '\r')
	# $(...) drops a trailing newline: empty iff the last byte is one.
	if [ -n "$(tail -c 1 "$1")" ]; then
		_cs_end='$s/\\n"$/"/'
	else
		_cs_end='$b'
	fi
	sed -e "s/$_cs_cr\$//" \
	    -e 's/\\/\\\\/g' \
	    -e 's/"/\\"/g' \
	    -e 's/?/\\?/g' \
	    -e "s/^/$_cs_tab\"/" \
	    -e 's/$/\\n"/' \
	    -e "$_cs_end" "$1"
	# sed copies a missing final newline; the literal needs one after it
	if [ "$_cs_end" != '$b' ]; then
		printf '\n'
	fi
}
