//! Fabric 2.x lifecycle chaincode packages.
