#ifndef FUZZ_H
#define FUZZ_H
#endif
