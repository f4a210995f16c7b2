// A stand-in for Fabric's peer and orderer in CI, where no Fabric binaries
// exist: it is NOT Fabric. It answers the probes fabdev renders for a node
// (GET /healthz on the operations port 9443: {"status":"OK"}, over TLS with
// the node's certificate when the rendered env turns operations TLS on, as
// Fabric does; TCP on 9443 for liveness) and accepts connections on the
// node's other ports (7050, 7051, 7052, 7053) without speaking gRPC, so that
// Services and port-forwards have something to reach. Built statically by scripts/setup/node-images.sh
// into fabdev.invalid/standin-fabric-peer and standin-fabric-orderer.
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	for _, port := range []int{7050, 7051, 7052, 7053} {
		l, err := net.Listen("tcp", fmt.Sprintf("0.0.0.0:%d", port))
		if err != nil {
			log.Fatalf("listen on %d: %v", port, err)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"OK","standin":"fabdev stand-in, not Fabric"}`)
	})
	cert, key := operationsTLS()
	go func() {
		if cert != "" {
			log.Fatal(http.ListenAndServeTLS("0.0.0.0:9443", cert, key, mux))
		}
		log.Fatal(http.ListenAndServe("0.0.0.0:9443", mux))
	}()
	log.Printf("fabdev stand-in node (not Fabric): /healthz on :9443, TCP on 7050-7053")
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}

// operationsTLS is the certificate and key the operations port serves with,
// read from the same env as the peer's (CORE_OPERATIONS_TLS_*) or the
// orderer's (ORDERER_OPERATIONS_TLS_*); none when TLS is off.
func operationsTLS() (string, string) {
	if os.Getenv("CORE_OPERATIONS_TLS_ENABLED") == "true" {
		return os.Getenv("CORE_OPERATIONS_TLS_CERT_FILE"), os.Getenv("CORE_OPERATIONS_TLS_KEY_FILE")
	}
	if os.Getenv("ORDERER_OPERATIONS_TLS_ENABLED") == "true" {
		return os.Getenv("ORDERER_OPERATIONS_TLS_CERTIFICATE"), os.Getenv("ORDERER_OPERATIONS_TLS_PRIVATEKEY")
	}
	return "", ""
}
