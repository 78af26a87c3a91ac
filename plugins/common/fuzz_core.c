/*
 * fuzz_core.c: randomized robustness test of the C core, built with AddressSanitizer + UBSan by
 * `make -C plugins/common check` (run by test/plugins/core-fuzz.test.ts): arbitrary bytes into envelope
 * decryption, text decoding, bundle parsing and every FPE format/option combination must never crash or read
 * out of bounds, RND encrypt → decrypt must round-trip, and the core's midstate HMAC-SM3 must equal OpenSSL's EVP
 * HMAC-SM3 for random keys, lengths and part splits. Usage: fuzz_core [iterations] [seed].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "smgate_core.h"
#include "smgate_fpe.h"
#include "smgate_internal.h"
static unsigned rnd(void){ return (unsigned)rand(); }
int main(int argc, char **argv){
  long iters = argc > 1 ? atol(argv[1]) : 200000; srand(argc > 2 ? (unsigned)atol(argv[2]) : 1);
  uint8_t dek[16]={9}; smg_datakey *k; smg_datakey_new(5,dek,&k);
  char why[256]; if (smg_self_test(why,sizeof why)) { printf("selftest %s\n", why); return 1; }
  static const char *fmts[]={"digits","alnum","cn-id","cn-mobile","bank-card","integer","bogus"};
  uint8_t buf[600], out[2000]; char txt[1200]; size_t ol;
  for (long it=0; it<iters; it++){
    size_t n = rnd()%300; for(size_t i=0;i<n;i++) buf[i]=(uint8_t)rnd();
    if (rnd()%2) { buf[0]= (rnd()%2)?1:2; buf[1]=0;buf[2]=0;buf[3]=0;buf[4]=5; }
    /* decrypt arbitrary bytes */
    if (smg_envelope_pt_len(buf,n) < sizeof out) smg_decrypt(k,(const uint8_t*)"a.b.c",5,buf,n,out,&ol);
    /* text decode arbitrary */
    size_t tl = rnd()%400; for(size_t i=0;i<tl;i++) txt[i]=(char)(rnd()%2? (unsigned)"smg1:ABCxyz-_09"[rnd()%15] : rnd());
    if (rnd()%2 && tl>=5) memcpy(txt,"smg1:",5);
    uint8_t *bin = malloc(smg_text_max_bin(tl)); smg_from_text(txt,tl,bin); free(bin);
    /* bundle parsing arbitrary */
    smg_keyring *r=NULL; if (tl>=6 && rnd()%2) memcpy(txt,"smgb1:",6); smg_keyring_open(txt,tl,(const uint8_t*)"tokentokentoken!",16,&r); smg_keyring_free(r);
    /* fpe arbitrary */
    smg_fpe_opts o={ (int)(rnd()%25)-1, (int)(rnd()%25)-1, (int)(rnd()%45)-1 };
    const char *f=fmts[rnd()%7]; size_t vl=rnd()%80; char v[100]; for(size_t i=0;i<vl;i++) v[i]= rnd()%4? (char)('0'+rnd()%10) : (char)(rnd()%128);
    if (vl && rnd()%3==0) v[0]='-';
    char fo[200]; size_t fol; if (smg_fpe_out_len(vl,&o) <= sizeof fo) smg_fpe(k,(const uint8_t*)"a.b",3,f,strlen(f),v,vl,&o,rnd()%2,fo,&fol,why,sizeof why);
    /* roundtrip */
    size_t el; smg_encrypt_rnd(k,(const uint8_t*)"x.y.z",5,buf,n,out,&el);
    uint8_t pt[600]; size_t pl; if (smg_decrypt(k,(const uint8_t*)"x.y.z",5,out,el,pt,&pl) || pl!=n || memcmp(pt,buf,n)) { printf("roundtrip fail\n"); return 1; }
    uint8_t bi[16]; smg_blind_index(k,buf,n,bi);
    /* midstate HMAC-SM3 == OpenSSL HMAC-SM3 (random key length incl. > 64, random 3-way split) */
    { uint8_t key[100], a[32], b[32]; size_t kl = rnd()%100, c1 = n ? rnd()%(n+1) : 0, c2 = c1 + (n>c1 ? rnd()%(n-c1+1) : 0);
      for(size_t i=0;i<kl;i++) key[i]=(uint8_t)rnd();
      smg_hmac_mid mid; smg_internal_hmac_mid_init(&mid,key,kl);
      smg_part parts[3]={{buf,c1},{buf+c1,c2-c1},{buf+c2,n-c2}}; smg_internal_hmac_mid(&mid,parts,3,a);
      if (smg_hmac_sm3(key,kl,buf,n,b) || memcmp(a,b,32)) { printf("hmac-sm3 mismatch len %zu key %zu\n",n,kl); return 1; } }
  }
  smg_datakey_free(k); printf("fuzz ok\n"); return 0; }
