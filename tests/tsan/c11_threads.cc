// C11 <threads.h> for librdkafka under ThreadSanitizer.
//
// Debian's librdkafka creates its threads and locks its queues with glibc's
// C11 API (thrd_create, mtx_lock, cnd_wait, ...). glibc implements those by
// calling its internal __pthread_* functions directly, so TSan's pthread
// interceptors never run: TSan does not know librdkafka's threads exist (the
// first malloc on one of them crashes inside the TSan runtime) and cannot see
// the mutexes that order librdkafka's hand-offs. These definitions, linked
// into the test executables of a SURGE_TSAN build only, take precedence over
// glibc's and forward each call to the public pthread function, which TSan
// intercepts. They do exactly what glibc's versions do (same argument
// mapping, same error codes); only the functions librdkafka 2.0.2 imports are
// defined. Thread-safe: each is a stateless forwarder.
//
// <threads.h> is not included: it is C-only (_Noreturn) and its types are
// layout-identical to the pthread ones glibc casts them to.
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

namespace {
// glibc's <threads.h> values.
enum {
  kThrdSuccess = 0,
  kThrdBusy = 1,
  kThrdError = 2,
  kThrdNomem = 3,
  kThrdTimedout = 4,
};
constexpr int kMtxRecursive = 1;

// glibc's thrd_err_map.
int ThrdResult(int err) {
  switch (err) {
    case 0:
      return kThrdSuccess;
    case ENOMEM:
      return kThrdNomem;
    case ETIMEDOUT:
      return kThrdTimedout;
    case EBUSY:
      return kThrdBusy;
    default:
      return kThrdError;
  }
}

pthread_mutex_t* AsMutex(void* mtx) { return static_cast<pthread_mutex_t*>(mtx); }
pthread_cond_t* AsCond(void* cnd) { return static_cast<pthread_cond_t*>(cnd); }
}  // namespace

extern "C" {

// glibc runs a C11 start routine as a pthread one too: the int result comes
// back in the same register and thrd_join narrows it again.
int thrd_create(pthread_t* thr, int (*func)(void*), void* arg) {
  return ThrdResult(pthread_create(thr, nullptr, reinterpret_cast<void* (*)(void*)>(func), arg));
}

int thrd_join(pthread_t thr, int* res) {
  void* result = nullptr;
  const int err = pthread_join(thr, &result);
  if (res != nullptr) *res = static_cast<int>(reinterpret_cast<uintptr_t>(result));
  return ThrdResult(err);
}

int mtx_init(void* mtx, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(
      &attr, (type & kMtxRecursive) ? PTHREAD_MUTEX_RECURSIVE : PTHREAD_MUTEX_DEFAULT);
  const int err = pthread_mutex_init(AsMutex(mtx), &attr);
  pthread_mutexattr_destroy(&attr);
  return ThrdResult(err);
}

int mtx_lock(void* mtx) { return ThrdResult(pthread_mutex_lock(AsMutex(mtx))); }
int mtx_unlock(void* mtx) { return ThrdResult(pthread_mutex_unlock(AsMutex(mtx))); }
void mtx_destroy(void* mtx) { pthread_mutex_destroy(AsMutex(mtx)); }

int cnd_init(void* cnd) { return ThrdResult(pthread_cond_init(AsCond(cnd), nullptr)); }
int cnd_signal(void* cnd) { return ThrdResult(pthread_cond_signal(AsCond(cnd))); }
int cnd_broadcast(void* cnd) { return ThrdResult(pthread_cond_broadcast(AsCond(cnd))); }
int cnd_wait(void* cnd, void* mtx) {
  return ThrdResult(pthread_cond_wait(AsCond(cnd), AsMutex(mtx)));
}
int cnd_timedwait(void* cnd, void* mtx, const struct timespec* abs_time) {
  return ThrdResult(pthread_cond_timedwait(AsCond(cnd), AsMutex(mtx), abs_time));
}
void cnd_destroy(void* cnd) { pthread_cond_destroy(AsCond(cnd)); }

// once_flag is glibc's { int __data; }, i.e. a pthread_once_t.
void call_once(void* flag, void (*func)(void)) {
  pthread_once(static_cast<pthread_once_t*>(flag), func);
}

}  // extern "C"
