"""moto_server with S3's conditional writes made atomic.

moto answers a PUT with `If-None-Match: *` by looking the key up and then
storing the object, two steps that its threaded server does not serialize:
two PUTs of one key that race can both succeed, which S3 never allows (one of
them gets 412). Concurrent ailake commits rely on exactly that guarantee, so
the tests run moto with each conditional write (PUT, and the POST completing
a multipart upload) under one lock."""
import sys
import threading

from moto.s3.responses import S3Response
from moto.server import main

_lock = threading.Lock()


def _atomic(method):
    def wrapper(self, *args, **kwargs):
        with _lock:
            return method(self, *args, **kwargs)

    return wrapper


S3Response.put_object = _atomic(S3Response.put_object)
S3Response._key_response_post = _atomic(S3Response._key_response_post)

if __name__ == "__main__":
    sys.exit(main())
