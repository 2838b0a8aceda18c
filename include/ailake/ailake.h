// Umbrella header: the whole public C++ API of ailake.
#pragma once

#include "ailake/changes.h"
#include "ailake/file.h"
#include "ailake/hardware.h"
#include "ailake/index.h"
#include "ailake/policy.h"
#include "ailake/row_id.h"
#include "ailake/version.h"
