// The module's umbrella header: every family's header, so that adding one changes this file and a cached
// module built before it is rebuilt (an umbrella directory does not notice a new file).
#include "strata_isa.h"
#include "strata_elementwise.h"
#include "strata_conv.h"
#include "strata_batchnorm.h"
#include "strata_softmax.h"
#include "strata_groupnorm.h"
#include "strata_recurrent.h"
#include "strata_pool.h"
#include "strata_pooling.h"
