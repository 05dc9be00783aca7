#!/usr/bin/env python3
"""Does training from ITQ's codes improve them? A one-layer binary autoencoder (784 -> BITS
bits -> 784) whose encoder starts as ITQ's projection (so its initial codes are ITQ's codes,
bit for bit) and whose linear decoder starts at the least-squares fit from those bits, trained
with Adam, straight-through bits, on the 60k MNIST training images; mAP@1000 of 2,000 test
queries against 20,000 training images (same digit = relevant) before and after each epoch.
PyTorch, as a prototype of `[pretrain] kind = "itq"` (issue #37), before building it.

    python bench/itq_init_probe.py BITS LR [bce|mse]     # MNIST from ../shared/data/mnist
"""
import numpy as np, torch, time, gzip, sys, os
ROOT = os.environ.get('MNIST', '../shared/data/mnist')
mode = sys.argv[3] if len(sys.argv) > 3 else 'bce'
torch.set_num_threads(1)
def load(part):
    with gzip.open(f'{ROOT}/{part}-images.idx3-ubyte.gz') as f: x=np.frombuffer(f.read(),np.uint8,offset=16).reshape(-1,784)/255.
    with gzip.open(f'{ROOT}/{part}-labels.idx1-ubyte.gz') as f: y=np.frombuffer(f.read(),np.uint8,offset=8)
    return x.astype(np.float32), y
xtr,ytr=load('train'); xte,yte=load('t10k')
rng=np.random.default_rng(0)
db=rng.choice(60000,20000,replace=False); q=rng.choice(10000,2000,replace=False)
bits=int(sys.argv[1]) if len(sys.argv)>1 else 32
def mapk(bdb, bq, k=1000):
    s = (2*bq-1) @ (2*bdb-1).T  # higher = closer
    aps=[]
    for i in range(len(bq)):
        # ties broken by index (stable)
        idx=np.argsort(-s[i], kind='stable')[:k]
        rel=(ytr[db][idx]==yte[q][i]).astype(np.float64)
        if rel.sum()==0: aps.append(0); continue
        prec=np.cumsum(rel)/np.arange(1,k+1)
        aps.append((prec*rel).sum()/rel.sum())
    return np.mean(aps)
# ITQ
mu=xtr.mean(0); X=xtr-mu
U,S,Vt=np.linalg.svd(X[:20000],full_matrices=False); P=Vt[:bits].T
V=X@P
R=np.linalg.qr(rng.normal(size=(bits,bits)))[0]
for it in range(50):
    B=np.sign(V@R); B[B==0]=1
    u,s,wt=np.linalg.svd(V.T@B); R=u@wt
W=P@R  # 784 x bits
code=lambda x: ((x-mu)@W>0).astype(np.float32)
print('ITQ mAP@1000', mapk(code(xtr[db]),code(xte[q])), flush=True)
# model: a = s*(x-mu)W ; h = bernoulli(sigmoid(a)) straight-through ; out logits = h Wd + bd
Z=(X@W); scale=4.0/np.abs(Z).mean()
enc=torch.nn.Linear(784,bits); dec=torch.nn.Linear(bits,784)
with torch.no_grad():
    enc.weight.copy_(torch.tensor((W*scale).T)); enc.bias.copy_(torch.tensor(-(mu@W)*scale))
    H=(Z>0).astype(np.float32)
    Hb=np.hstack([H,np.ones((len(H),1),np.float32)])
    T=np.log(np.clip(xtr,0.02,0.98)/(1-np.clip(xtr,0.02,0.98))) if mode == 'bce' else xtr
    sol=np.linalg.lstsq(Hb[:20000],T[:20000],rcond=None)[0]
    dec.weight.copy_(torch.tensor(sol[:bits].T)); dec.bias.copy_(torch.tensor(sol[bits]))
lr=float(sys.argv[2]) if len(sys.argv)>2 else 1e-4
opt=torch.optim.Adam(list(enc.parameters())+list(dec.parameters()),lr=lr)
xt=torch.tensor(xtr)
def tcode(x):
    with torch.no_grad(): return (enc(torch.tensor(x))>0).float().numpy()
print('init model mAP', mapk(tcode(xtr[db]),tcode(xte[q])), flush=True)
for ep in range(5):
    perm=torch.randperm(60000); tot=0
    for i in range(0,60000,100):
        xb=xt[perm[i:i+100]]
        p=torch.sigmoid(enc(xb))
        if mode == 'bce':  # stochastic bits, Bernoulli pixels (our straight_through code)
            h=(torch.rand_like(p)<p).float(); h=p+(h-p).detach()
            loss=torch.nn.functional.binary_cross_entropy_with_logits(dec(h),xb,reduction='sum')/len(xb)
        else:  # deterministic bits, squared error (the binary autoencoder's objective)
            h=(p>0.5).float(); h=p+(h-p).detach()
            loss=((dec(h)-xb)**2).sum()/len(xb)
        opt.zero_grad(); loss.backward(); opt.step(); tot+=loss.item()
    print(ep, tot/600, 'mAP', mapk(tcode(xtr[db]),tcode(xte[q])), flush=True)
