module mlpy.local/localk8s/pause

go 1.26.0
