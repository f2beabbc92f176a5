package chaostest

import (
	"os"
	"testing"

	"keel/cluster/systemtest"
)

func TestMain(m *testing.M) { os.Exit(systemtest.Main(m)) }
