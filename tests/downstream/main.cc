// A consumer of the installed package: uses only public headers.
#include <iostream>

#include <ailake/ailake.h>

int main() {
  ailake::VectorStoragePolicy policy;
  policy.dim = 384;
  policy.metric = ailake::DistanceMetric::kCosine;
  arrow::Status st = policy.Validate();
  if (!st.ok()) {
    std::cerr << st.ToString() << "\n";
    return 1;
  }
  std::cout << "ailake " << ailake::Version() << " policy ok" << std::endl;
  return 0;
}
