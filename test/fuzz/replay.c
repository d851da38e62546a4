/*
** replay.c: runs a libFuzzer target on files, without libFuzzer, so that
** a gcc build (make coverage) can replay the seed corpora of
** test/fuzz/corpus/<target>/ (doc/testing.md, "Coverage").
**
**   build/cov/fuzz_registry FILE...     each FILE given to the target once
**
** Exits 0 when every input ran (a target that finds a fault aborts).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv);
int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData);

int main(int argc, char **argv){
  int i, nRun = 0;
  LLVMFuzzerInitialize(&argc, &argv);
  for(i=1; i<argc; i++){
    FILE *f = fopen(argv[i], "rb");
    long n;
    uint8_t *a;
    if( f==0 ){ fprintf(stderr, "replay: cannot open %s\n", argv[i]); return 1; }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    a = malloc(n>0 ? (size_t)n : 1);
    if( a==0 || (n>0 && fread(a, 1, (size_t)n, f)!=(size_t)n) ){
      fprintf(stderr, "replay: cannot read %s\n", argv[i]);
      return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(a, (size_t)n);
    free(a);
    nRun++;
  }
  printf("replay: %d inputs\n", nRun);
  return 0;
}
